import { Inject, Injectable } from '@nestjs/common';
import type IORedis from 'ioredis';
import type { TfleetConfig } from '@tfleet/config';
import { EXECUTION_COUNTER_TTL_SECONDS, executionCounterKey } from '@tfleet/queue';
import { WORKER_REDIS } from './redis.providers';
import { CONFIG } from '@tfleet/config';

/**
 * Numbers every execution of an experiment's job. BullMQ's `attemptsMade` counts failures
 * only: a job taken over after a stall (a killed worker, an expired lock) runs again with the
 * same number, and its run events would collide with the dead run's. The counter lives in
 * Redis, so every worker draws from the same sequence.
 */
@Injectable()
export class ExecutionCounter {
  constructor(
    @Inject(WORKER_REDIS) private readonly redis: IORedis,
    @Inject(CONFIG) private readonly config: TfleetConfig,
  ) {}

  async next(experimentId: string): Promise<number> {
    const key = executionCounterKey(this.config.queuePrefix, experimentId);
    const replies = await this.redis.multi().incr(key).expire(key, EXECUTION_COUNTER_TTL_SECONDS).exec();
    const [error, value] = replies?.[0] ?? [new Error('no reply'), null];
    if (error) throw error;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new Error(`execution counter of ${experimentId} answered ${String(value)}`);
    return value;
  }
}
