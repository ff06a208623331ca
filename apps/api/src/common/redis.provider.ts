import type { Provider } from '@nestjs/common';
import type { TfleetConfig } from '@tfleet/config';
import { createRedis } from '@tfleet/queue';
import { CONFIG } from './tokens';

/** A plain Redis client for what BullMQ does not do for us (cancel signals, health). */
export const REDIS = Symbol('TFLEET_REDIS');

export const redisProvider: Provider = {
  provide: REDIS,
  inject: [CONFIG],
  useFactory: (config: TfleetConfig) => createRedis(config.redisUrl),
};
