import { BullModule } from '@nestjs/bullmq';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import { redisOptionsFromUrl } from '@tfleet/queue';
import { CoreModule } from './common/core.module';
import { CompareModule } from './compare/compare.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { HttpErrorFilter } from './common/http-exception.filter';
import { API_KEY } from './common/tokens';
import { DatabaseModule } from './database/database.module';
import { ExperimentsModule } from './experiments/experiments.module';
import { HealthModule } from './health/health.module';
import { KeysModule } from './keys/keys.module';
import { LeaderboardModule } from './leaderboard/leaderboard.module';
import { ModelsModule } from './models/models.module';
import { MetricsModule } from './metrics/metrics.module';
import { QueueBoardModule } from './queue-board/queue-board.module';
import { LiveModule } from './live/live.module';
import { ReconciliationModule } from './reconciliation/reconciliation.module';
import { RunEventsModule } from './run-events/run-events.module';
import { ShootoutsModule } from './shootouts/shootouts.module';
import { SweepsModule } from './sweeps/sweeps.module';
import { WorkersModule } from './workers/workers.module';

/** The API: one module per feature over the shared core (config, database, Redis, queue). */
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
        CoreModule,
        LiveModule,
        ExperimentsModule,
        LeaderboardModule,
        CompareModule,
        WorkersModule,
        HealthModule,
        RunEventsModule,
        ReconciliationModule,
        ModelsModule,
        MetricsModule,
        QueueBoardModule,
        DashboardModule,
        KeysModule,
        SweepsModule,
        ShootoutsModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }
}
