import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, type Type } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import { formatIssues, parseWith, QueueName, trainExperimentJobDataSchema } from '@tfleet/contracts';
import type { TfleetConfig } from '@tfleet/config';
import { type TrainOutcome, TrainingRunService } from './training-run.service';
import { WorkerVitals } from './worker-vitals';

/** Thin adapter: re-validate the job read back from Redis, then train. */
@Injectable()
export class ExperimentsProcessor extends WorkerHost {
  private readonly logger = new Logger('ExperimentsProcessor');

  constructor(
    private readonly training: TrainingRunService,
    private readonly vitals: WorkerVitals,
  ) {
    super();
  }

  async process(job: Job<unknown>, token?: string): Promise<{ outcome: TrainOutcome }> {
    try {
      const parsed = parseWith(trainExperimentJobDataSchema, job.data);
      if (!parsed.ok) throw new UnrecoverableError(`invalid job data: ${formatIssues(parsed.issues)}`);
      return { outcome: await this.training.run(job as Job<typeof parsed.value>, parsed.value, token) };
    } finally {
      // Recycling: paused before BullMQ moves this job on, so it fetches no next one.
      if (this.vitals.jobEnding()) void this.worker.pause(true);
    }
  }

  /** A job has been moved on (completed or failed): a recycling worker may now exit. */
  @OnWorkerEvent('completed')
  onCompleted(): void {
    this.vitals.lastJobSettled();
  }

  @OnWorkerEvent('failed')
  onFailed(): void {
    this.vitals.lastJobSettled();
  }

  /**
   * BullMQ reports here what it could not do in the background: renew a lock, move a job whose
   * lock was lost. Logged, never thrown: an 'error' event without a listener would end the process.
   */
  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.warn(`queue worker: ${error.message}`);
  }
}

/**
 * The processor with this worker's lock settings. BullMQ renews a job's lock every half
 * `lockDuration`; a worker that dies stops renewing, and within `lockDuration` plus one
 * `stalledInterval` another worker's stalled-job check hands the job back (defaults 30 s and
 * 15 s: a dead worker costs at most ~45 s of waiting). A stall counts as an execution, and
 * after `maxStalledCount` stalls the job fails.
 */
export function experimentsProcessorFor(config: TfleetConfig): Type<ExperimentsProcessor> {
  @Processor(QueueName.Experiments, {
    concurrency: config.workerConcurrency,
    lockDuration: config.jobLockMs,
    stalledInterval: config.stalledIntervalMs,
    maxStalledCount: 2,
  })
  class ConfiguredExperimentsProcessor extends ExperimentsProcessor {}
  return ConfiguredExperimentsProcessor;
}
