import { Global, Module } from '@nestjs/common';
import { CheckpointStore } from '@tfleet/artifacts';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import { ExperimentsQueueCloser, EXPERIMENTS_QUEUE, experimentsQueueProvider } from './experiments-queue.provider';
import { JobSignals } from './job-signals';
import { RedisGate } from './redis-gate';
import { REDIS, RedisCloser, redisProvider } from './redis.provider';
import { ResumePoints } from './resume-points';

/**
 * What every feature shares: the fail-fast Redis client and its gate, the experiments queue as
 * requests use it, and the stop signal. One instance each, whichever feature asks. The checkpoint
 * store (TFLEET_ARTIFACTS_DIR) and the resume points that name its files to workers are here too.
 */
@Global()
@Module({
  providers: [
    redisProvider,
    RedisCloser,
    RedisGate,
    experimentsQueueProvider,
    ExperimentsQueueCloser,
    JobSignals,
    { provide: CheckpointStore, inject: [CONFIG], useFactory: (config: TfleetConfig) => new CheckpointStore(config.artifactsDir) },
    ResumePoints,
  ],
  exports: [REDIS, RedisGate, EXPERIMENTS_QUEUE, JobSignals, CheckpointStore, ResumePoints],
})
export class CoreModule {}
