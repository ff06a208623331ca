import { BullModule } from '@nestjs/bullmq';
import { type DynamicModule, Module } from '@nestjs/common';
import type { BackendName } from '@tfleet/contracts';
import { QueueName } from '@tfleet/contracts';
import type { TfleetConfig } from '@tfleet/config';
import { redisOptionsFromUrl } from '@tfleet/queue';
import { CheckpointStore } from '@tfleet/artifacts';
import { RANK_ENTRY_POINTS } from '../../../workers/rank-entry-points';
import { CancellationService } from './cancellation.service';
import { ExecutionCounter } from './executions';
import { type ExperimentsProcessor, experimentsProcessorFor } from './experiments.processor';
import type { JobIntake } from './shutdown';
import { JobLocks } from './job-lock';
import { WorkerRedisCloser, workerRedisProviders } from './redis.providers';
import { RankGroupFactory } from './rank-group.factory';
import { RunEventPublisher } from './run-event.publisher';
import { CONFIG } from '@tfleet/config';
import { EXPERIMENTS_PROCESSOR, WORKER_BACKEND } from './tokens';
import { RunCheckpoints } from './run-checkpoints';
import { WorkerShutdown } from './shutdown';
import { ThroughputBaselines } from './throughput-baselines';
import { TrainingRunService } from './training-run.service';
import { DiscoveryService } from '@nestjs/core';
import { WorkerRegistry } from './worker-registry.service';
import { WorkerVitals } from './worker-vitals';

/** The worker: no HTTP, no database; a BullMQ consumer that trains, reports through Redis and writes checkpoints to the store. */
@Module({})
export class WorkerModule {
  static forRoot(config: TfleetConfig, backend: BackendName): DynamicModule {
    const processor = experimentsProcessorFor(config);
    return {
      module: WorkerModule,
      imports: [
        BullModule.forRoot({ connection: redisOptionsFromUrl(config.redisUrl), prefix: config.queuePrefix }),
        BullModule.registerQueue({ name: QueueName.RunEvents }),
      ],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: WORKER_BACKEND, useValue: backend },
        ...workerRedisProviders,
        WorkerRedisCloser,
        // Training ranks start from the entries in workers/; this is where the worker says so.
        { provide: RankGroupFactory, useValue: new RankGroupFactory(RANK_ENTRY_POINTS) },
        CancellationService,
        ExecutionCounter,
        JobLocks,
        RunEventPublisher,
        ThroughputBaselines,
        TrainingRunService,
        // Checkpoints go to the store shared with the API (TFLEET_ARTIFACTS_DIR), never into Redis.
        { provide: CheckpointStore, useValue: new CheckpointStore(config.artifactsDir) },
        RunCheckpoints,
        processor,
        // Not `useExisting`: @nestjs/bullmq starts a queue worker for every provider whose instance
        // is a processor, an alias included: that was a second BullMQ worker on the same queue
        // (twice the concurrency, and events the registry and recycling never saw).
        { provide: EXPERIMENTS_PROCESSOR, inject: [processor], useFactory: (p: ExperimentsProcessor): JobIntake => ({ pause: () => p.worker.pause(true) }) },
        WorkerShutdown,
        DiscoveryService,
        WorkerRegistry,
        WorkerVitals,
      ],
    };
  }
}
