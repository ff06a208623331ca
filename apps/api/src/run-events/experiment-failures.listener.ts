import { OnQueueEvent, QueueEventsHost, QueueEventsListener } from '@nestjs/bullmq';
import { Inject, Logger } from '@nestjs/common';
import { QueueName } from '@tfleet/contracts';
import { ExperimentsRepository } from '@tfleet/persistence';
import { EXPERIMENTS_QUEUE, type ExperimentsQueue } from '../common/experiments-queue.provider';

/**
 * Catches experiment jobs that failed for good without their worker saying so (a worker
 * killed mid-run until the stall limit, say): the experiment is marked failed with BullMQ's
 * reason. A failure the worker reported arrives as a run event and wins, being earlier.
 */
@QueueEventsListener(QueueName.Experiments)
export class ExperimentFailuresListener extends QueueEventsHost {
  private readonly logger = new Logger(ExperimentFailuresListener.name);

  constructor(
    private readonly repository: ExperimentsRepository,
    @Inject(EXPERIMENTS_QUEUE) private readonly queue: ExperimentsQueue,
  ) {
    super();
  }

  @OnQueueEvent('failed')
  async onFailed({ jobId, failedReason }: { jobId: string; failedReason: string }): Promise<void> {
    // Only a job that is failed for good (retries exhausted, or unrecoverable) ends the experiment.
    // Redis may be gone again by now: the reconciler settles what this misses.
    const failedForGood = await this.queue
      .getJob(jobId)
      .then(async (job) => job !== undefined && (await job.isFailed()))
      .catch(() => false);
    if (!failedForGood) return;
    // Give the worker's own 'failed' run event (with the precise error) time to land first.
    setTimeout(() => {
      void this.repository
        .finish(jobId, 'failed', failedReason, new Date())
        .catch((error: unknown) => this.logger.error(`could not mark ${jobId} failed: ${String(error)}`));
    }, 2_000).unref();
  }
}
