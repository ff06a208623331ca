import { Inject, Injectable, Logger } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import { hostname } from 'node:os';
import { type BackendName, QueueName, type RankReport, type RankTask, type RuntimeInfo, type TrainExperimentJobData, type TrainingProgress } from '@tfleet/contracts';
import type { TfleetConfig } from '@tfleet/config';
import { BackendUnavailableError, needsRankProcesses, webgpuRankAdapters } from '@tfleet/ml';
import { CancellationService } from './cancellation.service';
import { ExecutionCounter } from './executions';
import { JobLocks } from './job-lock';
import { RankGroupFactory } from './rank-group.factory';
import { RunEventPublisher, type RunEventStream } from './run-event.publisher';
import { type RanOn, RunReportRelay, type TrainOutcome } from './run-report-relay';
import { scalingEfficiency, ThroughputBaselines, throughputSignature } from './throughput-baselines';
import { CONFIG } from '@tfleet/config';
import { WORKER_BACKEND } from './tokens';
import { TFLEET_VERSION } from './version';

export type { TrainOutcome } from './run-report-relay';

/** Backends any worker can run in its own threads, whatever it resolved at start. */
const PURE_JS_BACKENDS: readonly BackendName[] = ['wasm', 'cpu'];

/**
 * Runs one experiment on this worker: picks the backend and ranks, starts the rank group off
 * this event loop (so BullMQ keeps renewing the job lock), relays progress to the job and
 * everything else to the API as run events, and turns the outcome into the job's result.
 */
@Injectable()
export class TrainingRunService {
  private readonly logger = new Logger(TrainingRunService.name);

  constructor(
    @Inject(CONFIG) private readonly config: TfleetConfig,
    @Inject(WORKER_BACKEND) private readonly workerBackend: BackendName,
    private readonly cancellation: CancellationService,
    private readonly publisher: RunEventPublisher,
    private readonly baselines: ThroughputBaselines,
    private readonly executions: ExecutionCounter,
    private readonly locks: JobLocks,
    private readonly rankGroups: RankGroupFactory,
  ) {}

  /**
   * `attempt` in run events is this execution's number (see ExecutionCounter), not BullMQ's
   * failure count, so a run taken over after a stall reports as a new attempt. While it
   * trains, the job's lock is watched: once it may be lost, the ranks stop at their next step
   * and the attempt publishes nothing more (`JobLostError`).
   */
  async run(job: Job<TrainExperimentJobData>, data: TrainExperimentJobData, token: string | undefined): Promise<TrainOutcome> {
    const { experimentId, spec } = data;
    const attempt = await this.executions.next(experimentId);
    const events = this.publisher.stream(experimentId, attempt);
    const lost = new AbortController();
    const jobLost: { error: JobLostError | null } = { error: null };
    const lock =
      token === undefined
        ? null
        : this.locks.watch(QueueName.Experiments, experimentId, token, (reason) => {
            this.logger.warn(`experiment ${experimentId} attempt ${attempt}: job lost (${reason}); stopping at the next step, reporting nothing more`, { experimentId, attempt });
            jobLost.error = new JobLostError(experimentId, attempt, reason);
            events.fence();
            lost.abort(jobLost.error);
          });
    const attempts = job.opts.attempts ?? 1;
    try {
      const backend = this.chooseBackend(spec.training.backend);
      const ranks = this.chooseRanks(spec.training.ranks, spec.training.batchSize, backend);
      const outcome = await this.train(job, data, events, backend, ranks, attempt, lost.signal);
      if (jobLost.error) throw jobLost.error;
      this.logger.log(`experiment ${experimentId} attempt ${attempt}: ${outcome}`, { experimentId, attempt });
      return outcome;
    } catch (error) {
      if (jobLost.error) throw jobLost.error;
      const message = error instanceof Error ? error.message : String(error);
      const permanent = error instanceof UnrecoverableError || error instanceof BackendUnavailableError || error instanceof SpecNotServableError;
      const willRetry = !permanent && job.attemptsMade + 1 < attempts;
      this.logger.error(`experiment ${experimentId} attempt ${attempt} failed${willRetry ? ' (will retry)' : ''}: ${message}`, { experimentId, attempt });
      await events.send({ type: 'failed', error: message, willRetry });
      throw willRetry ? error : new UnrecoverableError(message);
    } finally {
      lock?.stop();
    }
  }

  private async train(
    job: Job<TrainExperimentJobData>,
    data: TrainExperimentJobData,
    events: RunEventStream,
    backend: BackendName,
    ranks: number,
    attempt: number,
    jobLost: AbortSignal,
  ): Promise<TrainOutcome> {
    const { experimentId, spec } = data;
    const { signal: cancelled, release } = await this.cancellation.watch(experimentId);
    // The ranks stop at their next step for either reason; which one it was is decided after.
    const signal = AbortSignal.any([cancelled, jobLost]);
    try {
      if (signal.aborted) {
        await events.send({ type: 'cancelled', step: 0 });
        return 'cancelled';
      }
      const transport = needsRankProcesses(backend) ? 'processes' : 'threads';
      const group = this.rankGroups.create({
        transport,
        worldSize: ranks,
        barrierTimeoutMs: this.config.barrierTimeoutMs,
        ...(transport === 'processes' ? { intraOpThreads: this.config.intraOpThreads, ...(this.config.gpuDevices.length > 0 ? { gpuDevices: this.config.gpuDevices } : {}) } : {}),
        // webgpu: one rank process per adapter (adapter index in the rank's environment).
        ...(backend === 'webgpu' ? { webgpuAdapters: webgpuRankAdapters(this.config.gpuDevices) } : {}),
      });
      const relay = new RunReportRelay({
        events,
        progress: (progress) => void this.updateProgress(job, progress),
        runtimeInfo: (ready) => this.runtimeInfo(ready, ranks, transport, spec.training.seed),
        scalingEfficiency: (ranOn, samplesPerSecond) => this.scaling(experimentId, spec, ranOn, ranks, samplesPerSecond),
      });
      this.logger.log(`experiment ${experimentId} attempt ${attempt}: ${spec.model.family} on ${spec.dataset.name}, ${ranks} rank(s) on ${backend} ${transport}`, { experimentId, attempt });
      const taskForRank = (rank: number): RankTask => ({ experimentId, attempt, spec, rank, worldSize: ranks, backend, pretrained: data.pretrained });
      try {
        await group.run(taskForRank, relay.onReport, signal);
      } finally {
        await relay.flushed();
      }
      const outcome = relay.outcome;
      if (outcome === null) {
        // Stopped before the first step (no rank reported): still a cancellation.
        if (signal.aborted) {
          await events.send({ type: 'cancelled', step: 0 });
          return 'cancelled';
        }
        throw new Error('training ended without a result from rank 0');
      }
      return outcome;
    } finally {
      release();
    }
  }

  /**
   * Records a 1-rank run's samples/s as the baseline of its signature; for N ranks, the
   * efficiency against that baseline, or null when no 1-rank run of the same signature is known.
   * A Redis error costs the figure, never the run.
   */
  private async scaling(experimentId: string, spec: TrainExperimentJobData['spec'], ranOn: RanOn, ranks: number, samplesPerSecond: number): Promise<number | null> {
    const signature = throughputSignature(spec, ranOn.backend, ranOn.device);
    try {
      if (ranks === 1) {
        if (samplesPerSecond > 0) await this.baselines.record(signature, { samplesPerSecond, experimentId, recordedAt: new Date().toISOString() });
        return 1;
      }
      const baseline = await this.baselines.lookup(signature);
      return baseline ? scalingEfficiency(samplesPerSecond, ranks, baseline.samplesPerSecond) : null;
    } catch (error) {
      this.logger.warn(`scaling efficiency of ${experimentId} not computed: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    }
  }

  private async updateProgress(job: Job, progress: TrainingProgress): Promise<void> {
    await job.updateProgress(progress).catch((error: unknown) => this.logger.warn(`progress of ${job.id} not saved: ${String(error)}`));
  }

  private chooseBackend(requested: TrainExperimentJobData['spec']['training']['backend']): BackendName {
    if (requested === 'auto' || requested === this.workerBackend || PURE_JS_BACKENDS.includes(requested)) {
      return requested === 'auto' ? this.workerBackend : requested;
    }
    throw new BackendUnavailableError(requested, `this worker runs '${this.workerBackend}' (TFLEET_BACKEND=${this.config.backend})`);
  }

  private chooseRanks(requested: number | undefined, batchSize: number, backend: BackendName): number {
    if (requested !== undefined && requested > this.config.maxRanks) {
      throw new SpecNotServableError(`training.ranks is ${requested}, but this worker runs at most ${this.config.maxRanks} (TFLEET_MAX_RANKS)`);
    }
    const byDefault = backend === 'webgpu' ? Math.min(this.config.maxRanks, webgpuRankAdapters(this.config.gpuDevices).length) : this.config.maxRanks;
    return Math.max(1, Math.min(requested ?? byDefault, batchSize));
  }

  private runtimeInfo(report: Extract<RankReport, { kind: 'ready' }>, ranks: number, transport: RuntimeInfo['rankTransport'], seed: number): RuntimeInfo {
    return {
      backend: report.backend,
      device: report.device,
      ranks,
      rankTransport: transport,
      seed,
      tfjsVersion: report.tfjsVersion,
      nodeVersion: process.version,
      tfleetVersion: TFLEET_VERSION,
      workerId: this.config.workerId,
      hostname: hostname(),
    };
  }
}

/** This worker no longer holds the job (its lock expired or was taken); another attempt owns it. */
export class JobLostError extends Error {
  override name = 'JobLostError';

  constructor(
    readonly experimentId: string,
    readonly attempt: number,
    readonly reason: string,
  ) {
    super(`experiment ${experimentId} attempt ${attempt} lost its job: ${reason}`);
  }
}

/** A valid spec that this worker's configuration cannot run; retrying would not help. */
export class SpecNotServableError extends Error {
  override name = 'SpecNotServableError';
}
