import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { Queue } from 'bullmq';
import { QueueName, type TrainExperimentJobData } from '@tfleet/contracts';
import type { TfleetConfig } from '@tfleet/config';
import { failFastRedisOptions } from '@tfleet/queue';
import { CONFIG } from '@tfleet/config';

/**
 * The experiments queue as requests use it: on a fail-fast connection, so a submission or a
 * cancel while Redis is away fails at once instead of waiting in ioredis' offline queue and
 * being carried out after the client was told it failed. (The queue-events listener keeps the
 * shared, patient connection: it blocks on Redis by design.)
 */
export const EXPERIMENTS_QUEUE = Symbol('TFLEET_EXPERIMENTS_QUEUE');
export type ExperimentsQueue = Queue<TrainExperimentJobData>;

export const experimentsQueueProvider: Provider = {
  provide: EXPERIMENTS_QUEUE,
  inject: [CONFIG],
  useFactory: (config: TfleetConfig): ExperimentsQueue => {
    const queue = new Queue<TrainExperimentJobData>(QueueName.Experiments, { connection: failFastRedisOptions(config.redisUrl), prefix: config.queuePrefix });
    queue.on('error', () => undefined);
    return queue;
  },
};

@Injectable()
export class ExperimentsQueueCloser implements OnApplicationShutdown {
  constructor(@Inject(EXPERIMENTS_QUEUE) private readonly queue: ExperimentsQueue) {}

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close().catch(() => undefined);
  }
}
