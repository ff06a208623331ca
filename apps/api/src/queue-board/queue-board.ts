import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import type { Router } from 'express';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import { QueueName } from '@tfleet/contracts';
import { redisOptionsFromUrl } from '@tfleet/queue';

export const QUEUE_BOARD_PATH = '/queues';

/**
 * bull-board over both queues (experiments, run-events), mounted at /queues by main.ts behind
 * operatorAuth. Read-only: jobs are changed through the API (cancel, pause, resume), which
 * keeps the database and the queue in step; retrying or removing a job here would not.
 */
@Injectable()
export class QueueBoard implements OnApplicationShutdown {
  private readonly queues: Queue[];
  readonly router: Router;

  constructor(@Inject(CONFIG) config: TfleetConfig) {
    this.queues = [QueueName.Experiments, QueueName.RunEvents].map((name) => {
      const queue = new Queue(name, { connection: redisOptionsFromUrl(config.redisUrl), prefix: config.queuePrefix });
      queue.on('error', () => undefined);
      return queue;
    });
    const adapter = new ExpressAdapter();
    adapter.setBasePath(QUEUE_BOARD_PATH);
    createBullBoard({
      queues: this.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })),
      serverAdapter: adapter,
      options: { uiConfig: { boardTitle: 'tfleet queues' } },
    });
    this.router = adapter.getRouter() as Router;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close().catch(() => undefined)));
  }
}
