import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import type IORedis from 'ioredis';
import { availableParallelism, cpus, hostname } from 'node:os';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import { type BackendName, WORKER_HEARTBEAT_MS, WORKER_REMEMBER_MS, type WorkerInfo } from '@tfleet/contracts';
import { workerKey, workersSeenKey } from '@tfleet/queue';
import { LOCK_REDIS } from './redis.providers';
import { WORKER_BACKEND } from './tokens';
import { WorkerVitals } from './worker-vitals';

/**
 * Registers this worker in Redis and beats every WORKER_HEARTBEAT_MS: its record (id, host,
 * pid, backend, device, cores, max ranks, the experiments it trains, jobs done, started at)
 * under a key that outlives the last beat by WORKER_REMEMBER_MS, and its id in a set scored by
 * the beat's time. The API calls a worker live while its beat is recent, lost after that
 * (unless it said it stopped). It learns what the worker trains from the BullMQ worker's
 * own events, so the training code knows nothing of it. Each beat carries the worker's memory
 * (WorkerVitals): resident size, heap, and the tensors its last run left behind. A beat that cannot reach Redis is
 * skipped: the next one says it all again.
 */
@Injectable()
export class WorkerRegistry implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerRegistry.name);
  private readonly startedAt = new Date().toISOString();
  private readonly current = new Set<string>();
  private jobsDone = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(LOCK_REDIS) private readonly redis: IORedis,
    @Inject(CONFIG) private readonly config: TfleetConfig,
    @Inject(WORKER_BACKEND) private readonly backend: BackendName,
    private readonly discovery: DiscoveryService,
    private readonly vitals: WorkerVitals,
  ) {}

  onApplicationBootstrap(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (!(instance instanceof WorkerHost)) continue;
      const worker = instance.worker;
      worker.on('active', (job: Job) => {
        if (job.id) this.current.add(job.id);
        void this.beat();
      });
      const done = (job: Job | undefined) => {
        if (job?.id && this.current.delete(job.id)) this.jobsDone++;
        void this.beat();
      };
      worker.on('completed', done);
      worker.on('failed', done);
    }
    void this.beat();
    this.timer = setInterval(() => void this.beat(), WORKER_HEARTBEAT_MS);
    this.timer.unref();
  }

  // Before, not on, application shutdown: WorkerRedisCloser disconnects the Redis clients in
  // onApplicationShutdown, and a beat sent in the same pass was lost (the worker read as lost).
  async beforeApplicationShutdown(): Promise<void> {
    await this.sayStopped();
  }

  /** The last beat, with `stoppedAt`: the API lists the worker as stopped, not lost. */
  async sayStopped(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beat(new Date().toISOString());
  }

  /** This worker as the API will read it. */
  info(stoppedAt: string | null = null): WorkerInfo {
    const gpus = this.config.gpuDevices.length > 0 ? `, GPU ${this.config.gpuDevices.join(',')}` : '';
    return {
      id: this.config.workerId,
      host: hostname(),
      pid: process.pid,
      backend: this.backend,
      device: `${cpus()[0]?.model.trim() ?? 'unknown CPU'}${gpus}`,
      cores: availableParallelism(),
      maxRanks: this.config.maxRanks,
      currentExperiments: [...this.current],
      jobsDone: this.jobsDone,
      startedAt: this.startedAt,
      heartbeatAt: new Date().toISOString(),
      stoppedAt,
      memory: this.vitals.memory(),
    };
  }

  private async beat(stoppedAt: string | null = null): Promise<void> {
    const info = this.info(stoppedAt);
    try {
      await this.redis
        .multi()
        .set(workerKey(this.config.queuePrefix, info.id), JSON.stringify(info), 'PX', WORKER_REMEMBER_MS + WORKER_HEARTBEAT_MS)
        .zadd(workersSeenKey(this.config.queuePrefix), Date.now(), info.id)
        .exec();
    } catch (error) {
      this.logger.debug(`heartbeat skipped: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
