import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import type { WorkerMemory } from '@tfleet/contracts';

/** Why a worker stops taking jobs and exits for its supervisor to start a fresh one. */
export type RecycleReason = { kind: 'jobs'; jobs: number; limit: number } | { kind: 'rss'; rssMb: number; limitMb: number };

/**
 * What a long-lived worker has used: its process's memory, the tensors its last run left in
 * rank 0's tfjs engine, the jobs it has ended; and whether that calls for recycling
 * (TFLEET_WORKER_MAX_JOBS, TFLEET_WORKER_MAX_RSS_MB). The registry publishes these with every
 * heartbeat, so a soak is read from outside.
 */
@Injectable()
export class WorkerVitals {
  private readonly logger = new Logger(WorkerVitals.name);
  private jobsEnded = 0;
  private lastRunTensors: number | null = null;
  private lastRunTensorBytes: number | null = null;
  private recycle: RecycleReason | null = null;
  private readonly recycleWaiters: ((reason: RecycleReason) => void)[] = [];

  constructor(@Inject(CONFIG) private readonly config: TfleetConfig) {}

  recordRankMemory(tensors: number, bytes: number): void {
    this.lastRunTensors = tensors;
    this.lastRunTensorBytes = bytes;
  }

  memory(): WorkerMemory {
    const usage = process.memoryUsage();
    const mb = (bytes: number) => Math.round((bytes / 1_048_576) * 10) / 10;
    return {
      rssMb: mb(usage.rss),
      heapUsedMb: mb(usage.heapUsed),
      externalMb: mb(usage.external),
      lastRunTensors: this.lastRunTensors,
      lastRunTensorBytes: this.lastRunTensorBytes,
      jobsEnded: this.jobsEnded,
    };
  }

  /**
   * Called as a job's processing ends, before BullMQ moves it on (and would fetch the next):
   * true when this was the worker's last job. The caller then pauses its queue worker.
   */
  jobEnding(): boolean {
    this.jobsEnded++;
    if (this.recycle) return true;
    const { workerMaxJobs, workerMaxRssMb } = this.config;
    const rssMb = process.memoryUsage().rss / 1_048_576;
    if (workerMaxJobs > 0 && this.jobsEnded >= workerMaxJobs) this.recycle = { kind: 'jobs', jobs: this.jobsEnded, limit: workerMaxJobs };
    else if (workerMaxRssMb > 0 && rssMb > workerMaxRssMb) this.recycle = { kind: 'rss', rssMb: Math.round(rssMb), limitMb: workerMaxRssMb };
    if (this.recycle) this.logger.log(`recycling after this job: ${describeRecycle(this.recycle)}`);
    return this.recycle !== null;
  }

  /** Settles once a job ending has decided to recycle (and its job has been moved on). */
  whenRecycleDue(): Promise<RecycleReason> {
    return new Promise((resolve) => this.recycleWaiters.push(resolve));
  }

  /** The last job has been moved on: whoever waits may now close the worker. */
  lastJobSettled(): void {
    if (!this.recycle) return;
    for (const resolve of this.recycleWaiters.splice(0)) resolve(this.recycle);
  }
}

export function describeRecycle(reason: RecycleReason): string {
  return reason.kind === 'jobs' ? `${reason.jobs} jobs done (TFLEET_WORKER_MAX_JOBS=${reason.limit})` : `resident memory ${reason.rssMb} MB over TFLEET_WORKER_MAX_RSS_MB=${reason.limitMb}`;
}
