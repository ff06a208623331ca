import { Inject, Injectable, Logger } from '@nestjs/common';
import type IORedis from 'ioredis';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import { WORKER_LIVE_MS, WORKER_REMEMBER_MS, type WorkerInfo, workerInfoSchema } from '@tfleet/contracts';
import { workerKey, workersSeenKey } from '@tfleet/queue';
import { EXPERIMENTS_QUEUE, type ExperimentsQueue } from '../common/experiments-queue.provider';
import { RedisGate } from '../common/redis-gate';
import { REDIS } from '../common/redis.provider';

export type WorkerState = 'live' | 'lost' | 'stopped';
export type WorkerView = WorkerInfo & { state: WorkerState; lastSeenMsAgo: number };

export const JOB_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'paused', 'completed', 'failed', 'waiting-children'] as const;

export interface QueueView {
  paused: boolean;
  counts: Record<(typeof JOB_STATES)[number], number>;
}

/** The Redis parts the service uses (a spec can hand in a fake). */
export type WorkersRedis = Pick<IORedis, 'zrangebyscore' | 'zremrangebyscore' | 'mget'>;
export type QueueControl = Pick<ExperimentsQueue, 'isPaused' | 'getJobCounts' | 'pause' | 'resume'>;

/**
 * What the workers say about themselves (their heartbeats) and what the experiments queue
 * holds. A worker is live while its last beat is younger than WORKER_LIVE_MS, stopped if it
 * said so, lost otherwise; one that has not beaten for WORKER_REMEMBER_MS is forgotten.
 */
@Injectable()
export class WorkersService {
  private readonly logger = new Logger(WorkersService.name);

  constructor(
    @Inject(REDIS) private readonly redis: WorkersRedis,
    @Inject(EXPERIMENTS_QUEUE) private readonly queue: QueueControl,
    private readonly gate: RedisGate,
    @Inject(CONFIG) private readonly config: Pick<TfleetConfig, 'queuePrefix'>,
  ) {}

  async workers(now = Date.now()): Promise<WorkerView[]> {
    return this.gate.call('listing workers', async () => {
      const seen = workersSeenKey(this.config.queuePrefix);
      await this.redis.zremrangebyscore(seen, '-inf', now - WORKER_REMEMBER_MS);
      const ids = await this.redis.zrangebyscore(seen, now - WORKER_REMEMBER_MS, '+inf');
      if (ids.length === 0) return [];
      const records = await this.redis.mget(...ids.map((id) => workerKey(this.config.queuePrefix, id)));
      const views: WorkerView[] = [];
      for (const [i, text] of records.entries()) {
        if (text === null) continue;
        const parsed = workerInfoSchema.safeParse(safeJson(text));
        if (!parsed.success) {
          this.logger.warn(`worker record ${ids[i]} is not valid; left out`);
          continue;
        }
        const age = Math.max(0, now - Date.parse(parsed.data.heartbeatAt));
        const state: WorkerState = parsed.data.stoppedAt !== null ? 'stopped' : age < WORKER_LIVE_MS ? 'live' : 'lost';
        views.push({ ...parsed.data, state, lastSeenMsAgo: age });
      }
      const order: Record<WorkerState, number> = { live: 0, lost: 1, stopped: 2 };
      return views.sort((a, b) => order[a.state] - order[b.state] || (a.id < b.id ? -1 : 1));
    });
  }

  queueState(): Promise<QueueView> {
    return this.gate.call('reading the queue', async () => {
      const [paused, counts] = await Promise.all([this.queue.isPaused(), this.queue.getJobCounts(...JOB_STATES)]);
      return { paused, counts: Object.fromEntries(JOB_STATES.map((s) => [s, counts[s] ?? 0])) as QueueView['counts'] };
    });
  }

  /** Pauses the queue for every worker: running jobs finish, no new one starts. */
  async pause(): Promise<QueueView> {
    await this.gate.call('pausing the queue', () => this.queue.pause());
    return this.queueState();
  }

  async resume(): Promise<QueueView> {
    await this.gate.call('resuming the queue', () => this.queue.resume());
    return this.queueState();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
