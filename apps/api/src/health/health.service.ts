import { Inject, Injectable } from '@nestjs/common';
import type IORedis from 'ioredis';
import { DataSource } from 'typeorm';
import { EXPERIMENTS_QUEUE, type ExperimentsQueue } from '../common/experiments-queue.provider';
import { REDIS } from '../common/redis.provider';

/** How long each probe of /api/health may take. */
export const HEALTH_PROBE_MS = 1_000;

export type Up = 'up' | 'down';

export interface HealthReport {
  status: 'ok' | 'degraded';
  api: 'up';
  redis: Up;
  database: Up;
  /** Workers connected to the experiments queue; null when Redis did not say. */
  workers: number | null;
  jobs: Record<string, number> | null;
}

/** The parts of each dependency that health probes use (so a spec can hand in fakes). */
export type RedisPing = Pick<IORedis, 'ping'>;
export type DatabaseProbe = Pick<DataSource, 'query'>;
export type QueueProbe = Pick<ExperimentsQueue, 'getWorkersCount' | 'getJobCounts'>;

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

/** Probes Redis, the database and the queue, each within HEALTH_PROBE_MS; never throws. */
@Injectable()
export class HealthService {
  constructor(
    @Inject(REDIS) private readonly redis: RedisPing,
    @Inject(DataSource) private readonly dataSource: DatabaseProbe,
    @Inject(EXPERIMENTS_QUEUE) private readonly queue: QueueProbe,
  ) {}

  async report(): Promise<HealthReport> {
    const redis = await this.probe(() => this.redis.ping());
    const database = await this.probe(() => this.dataSource.query('SELECT 1'));
    let workers: number | null = null;
    let jobs: Record<string, number> | null = null;
    if (redis === 'up') {
      workers = await withTimeout(this.queue.getWorkersCount(), HEALTH_PROBE_MS).catch(() => null);
      jobs = await withTimeout(this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed'), HEALTH_PROBE_MS).catch(() => null);
    }
    return { status: redis === 'up' && database === 'up' ? 'ok' : 'degraded', api: 'up', redis, database, workers, jobs };
  }

  private probe(work: () => Promise<unknown>): Promise<Up> {
    return withTimeout(Promise.resolve().then(work), HEALTH_PROBE_MS).then(
      () => 'up' as const,
      () => 'down' as const,
    );
  }
}
