import type { JobsOptions } from 'bullmq';

/** Options of every experiment job: the job id is the experiment id, so a re-add is a no-op. */
export function experimentJobOptions(experimentId: string, attempts: number, priority?: number): JobsOptions {
  return {
    jobId: experimentId,
    ...(priority !== undefined ? { priority } : {}),
    attempts,
    backoff: { type: 'exponential', delay: 5_000 },
    removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}

/** Run events are small ordered facts; the API consumes them once and they can go. */
export function runEventJobOptions(eventId: string): JobsOptions {
  return {
    jobId: eventId,
    attempts: 10,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: { age: 3600, count: 1_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}
