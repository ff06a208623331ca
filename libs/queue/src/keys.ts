/** Redis keys and channels tfleet uses besides BullMQ's own, all under the queue prefix. */
export const cancelKey = (prefix: string, experimentId: string): string => `${prefix}:tfleet:cancel:${experimentId}`;
export const cancelChannel = (prefix: string): string => `${prefix}:tfleet:cancel`;
/** How long a cancel request is remembered for a job that has not started yet. */
export const CANCEL_TTL_SECONDS = 7 * 24 * 3600;
/** Counter of an experiment's executions: every run of its job (a retry, a stall) gets the next number. */
export const executionCounterKey = (prefix: string, experimentId: string): string => `${prefix}:tfleet:executions:${experimentId}`;
/** How long the execution counter outlives the last execution. */
export const EXECUTION_COUNTER_TTL_SECONDS = 30 * 24 * 3600;
/** BullMQ's lock key of a job: its value is the token of the worker that holds the job. */
export const jobLockKey = (prefix: string, queueName: string, jobId: string): string => `${prefix}:${queueName}:${jobId}:lock`;

/** A worker's record (JSON of WorkerInfo), kept WORKER_REMEMBER_MS after its last beat. */
export const workerKey = (prefix: string, workerId: string): string => `${prefix}:tfleet:worker:${workerId}`;
/** The ids of workers seen recently: a sorted set scored by the time of their last beat (ms). */
export const workersSeenKey = (prefix: string): string => `${prefix}:tfleet:workers`;

/**
 * Where a retried attempt of an experiment resumes: JSON of a CheckpointPointer, written by the
 * API (the only one that knows which checkpoints are stored) each time its latest one changes;
 * read by workers when an attempt starts. Absent: start fresh.
 */
export const resumePointKey = (prefix: string, experimentId: string): string => `${prefix}:tfleet:resume:${experimentId}`;
/** How long a resume point outlives the last checkpoint of its experiment. */
export const RESUME_POINT_TTL_SECONDS = 30 * 24 * 3600;
