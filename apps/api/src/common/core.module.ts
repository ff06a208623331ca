import { Global, Module } from '@nestjs/common';
import { ExperimentsQueueCloser, EXPERIMENTS_QUEUE, experimentsQueueProvider } from './experiments-queue.provider';
import { JobSignals } from './job-signals';
import { RedisGate } from './redis-gate';
import { REDIS, RedisCloser, redisProvider } from './redis.provider';

/**
 * What every feature shares: the fail-fast Redis client and its gate, the experiments queue as
 * requests use it, and the stop signal. One instance each, whichever feature asks.
 */
@Global()
@Module({
  providers: [redisProvider, RedisCloser, RedisGate, experimentsQueueProvider, ExperimentsQueueCloser, JobSignals],
  exports: [REDIS, RedisGate, EXPERIMENTS_QUEUE, JobSignals],
})
export class CoreModule {}
