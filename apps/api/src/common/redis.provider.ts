import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type IORedis from 'ioredis';
import type { TfleetConfig } from '@tfleet/config';
import { createRedis, failFastRedisOptions } from '@tfleet/queue';
import { CONFIG } from '@tfleet/config';

/**
 * A plain Redis client for what BullMQ does not do for us (cancel signals, health). It fails
 * fast: requests that need Redis must answer while it is away, not hang.
 */
export const REDIS = Symbol('TFLEET_REDIS');

export const redisProvider: Provider = {
  provide: REDIS,
  inject: [CONFIG],
  useFactory: (config: TfleetConfig) => {
    const client = createRedis(config.redisUrl, failFastRedisOptions(config.redisUrl));
    // Outages are reported by /api/health and as 503s, not as unhandled 'error' events.
    client.on('error', () => undefined);
    return client;
  },
};

@Injectable()
export class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: IORedis) {}

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
