import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { DataSource } from 'typeorm';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import { ApiKeysRepository } from '@tfleet/persistence';
import { ApiKeyGuard, type KeyedRequest } from '../common/api-key.guard';
import { ApiKeys } from './api-keys.service';
import { KeyRateLimitGuard } from './key-rate-limit.guard';
import { KeysController } from './keys.controller';
import { SlidingWindowStorage } from './sliding-window.storage';

const MINUTE_MS = 60_000;

/**
 * API keys and their limits. The two global guards are registered here, in this order: the key
 * check (401/403) runs first, then the per-key rate limit (429). ApiKeys is exported to every
 * module (routes mounted outside Nest's router, such as /queues and /metrics, check keys with it).
 */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [CONFIG],
      useFactory: (config: TfleetConfig) => ({
        storage: new SlidingWindowStorage(),
        throttlers: [
          {
            ttl: MINUTE_MS,
            limit: (context) => context.switchToHttp().getRequest<KeyedRequest>().apiKey?.rateLimit ?? config.rateLimitPerMinute,
          },
        ],
        getTracker: (request: Pick<KeyedRequest, 'apiKey'>) => request.apiKey?.id ?? '',
        generateKey: (_context, tracker) => `key:${tracker}`,
        errorMessage: (_context, detail) => `rate limit exceeded: this API key may make ${detail.limit} requests a minute; retry after ${detail.timeToBlockExpire} s`,
      }),
    }),
  ],
  controllers: [KeysController],
  providers: [
    { provide: ApiKeysRepository, inject: [DataSource], useFactory: (dataSource: DataSource) => new ApiKeysRepository(dataSource) },
    ApiKeys,
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useClass: KeyRateLimitGuard },
  ],
  exports: [ApiKeys],
})
export class KeysModule {}
