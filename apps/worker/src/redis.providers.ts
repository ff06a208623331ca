import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type IORedis from 'ioredis';
import type { TfleetConfig } from '@tfleet/config';
import { createRedis, failFastRedisOptions } from '@tfleet/queue';
import { CONFIG } from '@tfleet/config';

/** Commands that may wait for Redis to come back (execution numbers, cancel keys). */
export const WORKER_REDIS = Symbol('TFLEET_WORKER_REDIS');
/** Lock checks: they must fail fast, since a failure past the lock's expiry is itself the answer. */
export const LOCK_REDIS = Symbol('TFLEET_LOCK_REDIS');

const quiet = (client: IORedis): IORedis => {
  // Connection errors are reported by the callers that hit them; unhandled 'error' events are not.
  client.on('error', () => undefined);
  return client;
};

export const workerRedisProviders: Provider[] = [
  { provide: WORKER_REDIS, inject: [CONFIG], useFactory: (config: TfleetConfig) => quiet(createRedis(config.redisUrl)) },
  { provide: LOCK_REDIS, inject: [CONFIG], useFactory: (config: TfleetConfig) => quiet(createRedis(config.redisUrl, failFastRedisOptions(config.redisUrl, 1_000))) },
];

/** Closes the worker's own Redis clients when the application stops. */
@Injectable()
export class WorkerRedisCloser implements OnApplicationShutdown {
  constructor(
    @Inject(WORKER_REDIS) private readonly commands: IORedis,
    @Inject(LOCK_REDIS) private readonly locks: IORedis,
  ) {}

  onApplicationShutdown(): void {
    this.commands.disconnect();
    this.locks.disconnect();
  }
}
