import { OnQueueEvent, QueueEventsHost, QueueEventsListener } from '@nestjs/bullmq';
import { QueueName } from '@tfleet/contracts';
import { LiveFeed } from './live-feed.service';

/**
 * The experiments queue's events (BullMQ QueueEvents, over Redis streams) handed to the live
 * feed: progress reports, and the job changes that can change an experiment's status without a
 * run event (a submission, a cancelled waiting job that is removed, a job that ends).
 */
@QueueEventsListener(QueueName.Experiments)
export class ExperimentJobEventsListener extends QueueEventsHost {
  constructor(private readonly feed: LiveFeed) {
    super();
  }

  @OnQueueEvent('progress')
  onProgress(event: { jobId: string; data: unknown }): void {
    this.feed.queueProgress(event);
  }

  @OnQueueEvent('added')
  onAdded({ jobId }: { jobId: string }): void {
    this.feed.jobChanged(jobId);
  }

  @OnQueueEvent('active')
  onActive({ jobId }: { jobId: string }): void {
    this.feed.jobChanged(jobId);
  }

  @OnQueueEvent('removed')
  onRemoved({ jobId }: { jobId: string }): void {
    this.feed.jobChanged(jobId);
    // A cancel removes the waiting job first and then writes `cancelled` (the database follows
    // Redis there): look again once that write has had time to land.
    for (const ms of [500, 3_000]) setTimeout(() => this.feed.jobChanged(jobId), ms).unref();
  }

  @OnQueueEvent('completed')
  onCompleted({ jobId }: { jobId: string }): void {
    this.feed.jobChanged(jobId);
  }

  @OnQueueEvent('failed')
  onFailed({ jobId }: { jobId: string }): void {
    this.feed.jobChanged(jobId);
    // A job that failed for good is marked failed by ExperimentFailuresListener about 2 s later
    // (the worker's own report wins if it lands first): look again once that has happened.
    setTimeout(() => this.feed.jobChanged(jobId), 3_000).unref();
  }
}
