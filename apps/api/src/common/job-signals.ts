import { Inject, Injectable, Logger } from '@nestjs/common';
import type IORedis from 'ioredis';
import type { TfleetConfig } from '@tfleet/config';
import { CANCEL_TTL_SECONDS, cancelChannel, cancelKey } from '@tfleet/queue';
import { EXPERIMENTS_QUEUE, type ExperimentsQueue } from './experiments-queue.provider';
import { REDIS } from './redis.provider';
import { CONFIG } from '@tfleet/config';

/**
 * What the API says to the workers about a job: stop it. A key that a worker reads before it
 * starts, a message for one that is training (it stops at its next step), and the job removed
 * if it is still waiting.
 */
@Injectable()
export class JobSignals {
  private readonly logger = new Logger(JobSignals.name);

  constructor(
    @Inject(REDIS) private readonly redis: IORedis,
    @Inject(EXPERIMENTS_QUEUE) private readonly queue: ExperimentsQueue,
    @Inject(CONFIG) private readonly config: TfleetConfig,
  ) {}

  /** Raises the stop signal; throws when Redis cannot be reached (nothing was signalled). */
  async stop(experimentId: string): Promise<void> {
    await this.redis.set(cancelKey(this.config.queuePrefix, experimentId), '1', 'EX', CANCEL_TTL_SECONDS);
    await this.redis.publish(cancelChannel(this.config.queuePrefix), experimentId);
    await this.removeIfWaiting(experimentId);
  }

  /** Withdraws a stop signal (an experiment resumed after a cancel must not stop at once). */
  async clearStop(experimentId: string): Promise<void> {
    await this.redis.del(cancelKey(this.config.queuePrefix, experimentId));
  }

  /** Best effort: a job that is already running is left to the stop signal. */
  async removeIfWaiting(experimentId: string): Promise<boolean> {
    try {
      const job = await this.queue.getJob(experimentId);
      if (job && ['waiting', 'delayed', 'prioritized', 'paused', 'waiting-children'].includes(await job.getState())) {
        await job.remove();
        return true;
      }
    } catch (error) {
      this.logger.warn(`could not remove job ${experimentId}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return false;
  }
}
