import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Gauge, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import { QueueName, trainingProgressSchema, trainExperimentJobDataSchema } from '@tfleet/contracts';
import { failFastRedisOptions } from '@tfleet/queue';
import { EXPERIMENT_STATUSES, ExperimentEntity, type ExperimentStatus } from '@tfleet/persistence';
import { EXPERIMENTS_QUEUE, type ExperimentsQueue } from '../common/experiments-queue.provider';
import { WorkersService } from '../workers/workers.service';
import { mergeExpositions } from './exposition';

/** What one running experiment's job says about its speed. */
export interface RunningSpeed {
  experimentId: string;
  family: string;
  samplesPerSecond: number;
  /** The global batch over samples/s: the wall time of one optimizer step at the current speed. */
  stepSeconds: number | null;
  /** Share of the step time in the gradient all-reduce, as the run last reported it (null: not reported). */
  allReduceShare: number | null;
}

/**
 * `GET /metrics`: BullMQ's own queue metrics followed by tfleet's, in Prometheus' text format.
 * Every scrape reads the current state (database counts, the active jobs' progress, the worker
 * registry) into a fresh registry, so nothing goes stale between scrapes and several API
 * processes each tell the same truth.
 */
@Injectable()
export class MetricsService implements OnApplicationShutdown {
  private readonly logger = new Logger(MetricsService.name);
  /** The run-events queue, read only for its counts (its backlog is how far the database lags the workers). */
  private readonly runEvents: Queue;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(EXPERIMENTS_QUEUE) private readonly queue: ExperimentsQueue,
    private readonly workers: WorkersService,
    @Inject(CONFIG) config: TfleetConfig,
  ) {
    // Fail-fast like the request paths: a scrape while Redis is away reports the queue down instead of waiting.
    this.runEvents = new Queue(QueueName.RunEvents, { connection: failFastRedisOptions(config.redisUrl), prefix: config.queuePrefix });
    this.runEvents.on('error', () => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runEvents.close().catch(() => undefined);
  }

  async experimentsByStatus(): Promise<Record<ExperimentStatus, number>> {
    const rows = await this.dataSource
      .getRepository(ExperimentEntity)
      .createQueryBuilder('e')
      .select('e.status', 'status')
      .addSelect('COUNT(*)', 'n')
      .groupBy('e.status')
      .getRawMany<{ status: ExperimentStatus; n: string | number }>();
    const counts = Object.fromEntries(EXPERIMENT_STATUSES.map((s) => [s, 0])) as Record<ExperimentStatus, number>;
    for (const row of rows) counts[row.status] = Number(row.n);
    return counts;
  }

  /** Speed of every active job that has reported progress; job data and progress are validated, a bad one is left out. */
  async runningSpeeds(): Promise<RunningSpeed[]> {
    const jobs = await this.queue.getActive();
    const speeds: RunningSpeed[] = [];
    for (const job of jobs) {
      const progress = trainingProgressSchema.safeParse(job.progress);
      const data = trainExperimentJobDataSchema.safeParse(job.data);
      if (!progress.success || !data.success) continue;
      const { samplesPerSecond, allReduceShare } = progress.data;
      const batch = data.data.spec.training.batchSize;
      speeds.push({
        experimentId: data.data.experimentId,
        family: data.data.spec.model.family,
        samplesPerSecond,
        stepSeconds: samplesPerSecond > 0 ? batch / samplesPerSecond : null,
        allReduceShare: allReduceShare ?? null,
      });
    }
    return speeds;
  }

  async scrape(): Promise<string> {
    const registry = new Registry();
    const byStatus = new Gauge({ name: 'tfleet_experiments', help: 'Experiments in the database by status', labelNames: ['status'], registers: [registry] });
    const samples = new Gauge({ name: 'tfleet_experiment_samples_per_second', help: 'Training samples per second of each running experiment (its job progress)', labelNames: ['experiment_id', 'family'], registers: [registry] });
    const step = new Gauge({ name: 'tfleet_experiment_step_seconds', help: 'Seconds per optimizer step of each running experiment: global batch over samples per second', labelNames: ['experiment_id', 'family'], registers: [registry] });
    const allReduce = new Gauge({ name: 'tfleet_experiment_allreduce_share', help: 'Share of each running experiment\'s step time spent in the gradient all-reduce since its last progress report (0 on one rank)', labelNames: ['experiment_id', 'family'], registers: [registry] });
    const workersLive = new Gauge({ name: 'tfleet_workers', help: 'Workers in the registry by state (live, lost, stopped)', labelNames: ['state'], registers: [registry] });
    const scrapeErrors = new Gauge({ name: 'tfleet_metrics_source_up', help: '1 when the source answered this scrape, 0 when it did not (its metrics are then missing)', labelNames: ['source'], registers: [registry] });

    const [counts, speeds, workers, bullmq] = await Promise.allSettled([
      this.experimentsByStatus(),
      this.runningSpeeds(),
      this.workers.workers(),
      Promise.all([this.queue.exportPrometheusMetrics(), this.runEvents.exportPrometheusMetrics()]),
    ]);
    if (counts.status === 'fulfilled') for (const [status, n] of Object.entries(counts.value)) byStatus.set({ status }, n);
    if (speeds.status === 'fulfilled') {
      for (const s of speeds.value) {
        samples.set({ experiment_id: s.experimentId, family: s.family }, s.samplesPerSecond);
        if (s.stepSeconds !== null) step.set({ experiment_id: s.experimentId, family: s.family }, s.stepSeconds);
        if (s.allReduceShare !== null) allReduce.set({ experiment_id: s.experimentId, family: s.family }, s.allReduceShare);
      }
    }
    if (workers.status === 'fulfilled') {
      const byState = { live: 0, lost: 0, stopped: 0 };
      for (const w of workers.value) byState[w.state] += 1;
      for (const [state, n] of Object.entries(byState)) workersLive.set({ state }, n);
    }
    const sources = { database: counts, queue: speeds, workers, bullmq } as const;
    for (const [source, result] of Object.entries(sources)) {
      scrapeErrors.set({ source }, result.status === 'fulfilled' ? 1 : 0);
      if (result.status === 'rejected') this.logger.warn(`metrics: ${source} did not answer: ${result.reason instanceof Error ? result.reason.message : String(result.reason)}`);
    }
    const ours = await registry.metrics();
    return mergeExpositions(bullmq.status === 'fulfilled' ? [...bullmq.value, ours] : [ours]);
  }
}
