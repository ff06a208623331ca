import { BullModule } from '@nestjs/bullmq';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { QueueName } from '@tfleet/contracts';
import type { TfleetConfig } from '@tfleet/config';
import { redisOptionsFromUrl } from '@tfleet/queue';
import { ApiKeyGuard } from './common/api-key.guard';
import { ExperimentsQueueCloser, experimentsQueueProvider } from './common/experiments-queue.provider';
import { JobSignals } from './common/job-signals';
import { RedisGate } from './common/redis-gate';
import { HttpErrorFilter } from './common/http-exception.filter';
import { RedisCloser, redisProvider } from './common/redis.provider';
import { API_KEY, CONFIG } from './common/tokens';
import { DatabaseModule } from './database/database.module';
import { ExperimentsController } from './experiments/experiments.controller';
import { ExperimentsService } from './experiments/experiments.service';
import { HealthController } from './health/health.controller';
import { LeaderboardController } from './leaderboard/leaderboard.controller';
import { QueueReconciler } from './reconciliation/queue-reconciler.service';
import { ExperimentFailuresListener } from './run-events/experiment-failures.listener';
import { RunEventsProcessor } from './run-events/run-events.processor';
import { RunEventsService } from './run-events/run-events.service';

@Module({})
export class ApiModule {
  static forRoot(config: TfleetConfig, apiKey: string): DynamicModule {
    const configModule: DynamicModule = {
      module: class ConfigHolderModule {},
      global: true,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: API_KEY, useValue: apiKey },
      ],
      exports: [CONFIG, API_KEY],
    };
    return {
      module: ApiModule,
      imports: [
        configModule,
        DatabaseModule,
        BullModule.forRoot({ connection: redisOptionsFromUrl(config.redisUrl), prefix: config.queuePrefix }),
        // The experiments queue that requests use is experimentsQueueProvider's (fail-fast).
        BullModule.registerQueue({ name: QueueName.RunEvents }),
      ],
      controllers: [ExperimentsController, LeaderboardController, HealthController],
      providers: [
        redisProvider,
        RedisCloser,
        RedisGate,
        experimentsQueueProvider,
        ExperimentsQueueCloser,
        JobSignals,
        ExperimentsService,
        QueueReconciler,
        RunEventsService,
        RunEventsProcessor,
        ExperimentFailuresListener,
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }
}
