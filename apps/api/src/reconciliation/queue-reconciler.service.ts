import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { TfleetConfig } from '@tfleet/config';
import { ExperimentsRepository } from '@tfleet/persistence';
import { EXPERIMENTS_QUEUE, type ExperimentsQueue } from '../common/experiments-queue.provider';
import { JobSignals } from '../common/job-signals';
import { RedisGate } from '../common/redis-gate';
import { CONFIG } from '@tfleet/config';
import { ExperimentsService } from '../experiments/experiments.service';

/** Rows and jobs younger than this are left alone: a submission may be between its two writes. */
export const RECONCILE_GRACE_MS = 10_000;
/** Jobs read from the queue per page. */
const PAGE = 500;

export interface ReconcileReport {
  /** Queued or running experiments that had no job and were enqueued again. */
  enqueued: string[];
  /** Live experiments whose job had failed for good, marked failed. */
  failed: string[];
  /** Jobs whose experiment does not exist: removed, or told to stop if a worker has them. */
  orphansStopped: string[];
}

/**
 * Keeps the database and the queue telling the same story. A submission writes the row, then
 * the job; a crash between the two leaves a row that nothing will run, and an enqueue that
 * timed out but reached Redis leaves a job without a row. At start and every
 * TFLEET_RECONCILE_INTERVAL_MS: a queued or running row without a job is enqueued again (job id
 * = experiment id, so this never makes two), a live row whose job failed for good is marked
 * failed, and a job without a row is removed, or stopped if a worker has taken it.
 */
@Injectable()
export class QueueReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(QueueReconciler.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<ReconcileReport | null> | null = null;

  constructor(
    private readonly repository: ExperimentsRepository,
    @Inject(EXPERIMENTS_QUEUE) private readonly queue: ExperimentsQueue,
    private readonly experiments: ExperimentsService,
    private readonly signals: JobSignals,
    private readonly redisGate: RedisGate,
    @Inject(CONFIG) private readonly config: TfleetConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.pass();
    this.timer = setInterval(() => void this.pass(), this.config.reconcileIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass; overlapping calls share the pass in flight. Null when Redis is away (try later). */
  pass(): Promise<ReconcileReport | null> {
    if (!this.running) {
      this.running = this.reconcile()
        .catch((error: unknown) => {
          this.logger.warn(`reconciliation pass abandoned: ${error instanceof Error ? error.message : String(error)}`);
          return null;
        })
        .finally(() => {
          this.running = null;
        });
    }
    return this.running;
  }

  private async reconcile(): Promise<ReconcileReport | null> {
    await this.queue.waitUntilReady();
    if (!this.redisGate.ready) return null;
    const report: ReconcileReport = { enqueued: [], failed: [], orphansStopped: [] };
    const settled = Date.now() - RECONCILE_GRACE_MS;

    for (const experiment of await this.repository.liveExperiments(new Date(settled))) {
      const job = await this.queue.getJob(experiment.id);
      if (!job) {
        await this.experiments.requeue(experiment);
        report.enqueued.push(experiment.id);
      } else if ((await job.isFailed()) && (job.finishedOn ?? 0) < settled) {
        if (await this.repository.finish(experiment.id, 'failed', job.failedReason || 'the job failed', new Date())) report.failed.push(experiment.id);
      }
    }

    for (let start = 0; ; start += PAGE) {
      const jobs = await this.queue.getJobs(['waiting', 'delayed', 'prioritized', 'paused', 'active'], start, start + PAGE - 1, true);
      if (jobs.length === 0) break;
      const existing = await this.repository.existingIds(jobs.flatMap((j) => (j.id ? [j.id] : [])));
      for (const job of jobs) {
        if (!job.id || existing.has(job.id) || job.timestamp >= settled) continue;
        await this.signals.stop(job.id);
        report.orphansStopped.push(job.id);
      }
      if (jobs.length < PAGE) break;
    }

    if (report.enqueued.length + report.failed.length + report.orphansStopped.length > 0) {
      this.logger.warn(
        `reconciled: ${report.enqueued.length} experiment(s) enqueued again [${report.enqueued.join(', ')}], ` +
          `${report.failed.length} marked failed [${report.failed.join(', ')}], ${report.orphansStopped.length} job(s) without an experiment stopped [${report.orphansStopped.join(', ')}]`,
      );
    }
    return report;
  }
}
