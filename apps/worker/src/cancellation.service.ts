import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type IORedis from 'ioredis';
import type { TfleetConfig } from '@tfleet/config';
import { cancelChannel, cancelKey, createRedis } from '@tfleet/queue';
import { WORKER_REDIS } from './redis.providers';
import { CONFIG } from '@tfleet/config';

/**
 * Hears cancel requests: a Redis message for experiments training here now, and a key for
 * one asked to stop before this worker picked it up.
 */
@Injectable()
export class CancellationService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(CancellationService.name);
  private readonly running = new Map<string, AbortController>();
  private subscriber: IORedis | null = null;

  constructor(
    @Inject(CONFIG) private readonly config: TfleetConfig,
    @Inject(WORKER_REDIS) private readonly client: IORedis,
  ) {}

  async onModuleInit(): Promise<void> {
    // A subscribed connection can do nothing else, so it is this service's own.
    this.subscriber = createRedis(this.config.redisUrl);
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, experimentId: string) => {
      const controller = this.running.get(experimentId);
      if (controller && !controller.signal.aborted) {
        this.logger.log(`cancel requested for ${experimentId}`, { experimentId });
        controller.abort();
      }
    });
    await this.subscriber.subscribe(cancelChannel(this.config.queuePrefix));
  }

  async onModuleDestroy(): Promise<void> {
    for (const c of this.running.values()) c.abort();
    this.subscriber?.disconnect();
  }

  /** A signal that fires when the experiment is cancelled; call `release` when training ends. */
  async watch(experimentId: string): Promise<{ signal: AbortSignal; release: () => void }> {
    const controller = new AbortController();
    this.running.set(experimentId, controller);
    if ((await this.client.exists(cancelKey(this.config.queuePrefix, experimentId))) === 1) controller.abort();
    return { signal: controller.signal, release: () => this.running.delete(experimentId) };
  }
}
