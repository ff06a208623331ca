import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type IORedis from 'ioredis';
import { DataSource } from 'typeorm';
import { EXPERIMENTS_QUEUE, type ExperimentsQueue } from '../common/experiments-queue.provider';
import { Public } from '../common/public.decorator';
import { REDIS } from '../common/redis.provider';

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(REDIS) private readonly redis: IORedis,
    private readonly dataSource: DataSource,
    @Inject(EXPERIMENTS_QUEUE) private readonly experiments: ExperimentsQueue,
  ) {}

  @Public()
  @Get()
  @ApiOperation({ summary: 'API, Redis, database and live workers (no key needed)' })
  async health() {
    const redis = await withTimeout(this.redis.ping(), 1_000).then(() => 'up' as const, () => 'down' as const);
    const database = await withTimeout(this.dataSource.query('SELECT 1'), 1_000).then(() => 'up' as const, () => 'down' as const);
    let workers: number | null = null;
    let jobs: Record<string, number> | null = null;
    if (redis === 'up') {
      workers = await withTimeout(this.experiments.getWorkersCount(), 1_000).catch(() => null);
      jobs = await withTimeout(this.experiments.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed'), 1_000).catch(() => null);
    }
    return { status: redis === 'up' && database === 'up' ? 'ok' : 'degraded', api: 'up', redis, database, workers, jobs };
  }
}
