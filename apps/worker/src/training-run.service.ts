import { Inject, Injectable, Logger } from '@nestjs/common';
import { type Job, UnrecoverableError, WaitingError } from 'bullmq';
import { hostname } from 'node:os';
import { type BackendName, type CheckpointPayload, type CheckpointPointer, QueueName, type RankReport, type RankTask, type RuntimeInfo, type TrainExperimentJobData, type TrainingProgress } from '@tfleet/contracts';
import type { TfleetConfig } from '@tfleet/config';
import { BackendUnavailableError, needsRankProcesses, webgpuRankAdapters } from '@tfleet/ml';
import { CancellationService } from './cancellation.service';
import { ExecutionCounter } from './executions';
import { JobLocks } from './job-lock';
import { RankGroupFactory, type RankPoolRecord } from './rank-group.factory';
import { type ResumePoint, RunCheckpoints } from './run-checkpoints';
import { RunEventPublisher, type RunEventStream } from './run-event.publisher';
import { type RanOn, RunReportRelay, type TrainOutcome } from './run-report-relay';
import { scalingEfficiency, ThroughputBaselines, throughputSignature } from './throughput-baselines';
import { CONFIG } from '@tfleet/config';
import { WORKER_BACKEND } from './tokens';
import { TFLEET_VERSION } from './version';
import { WorkerVitals } from './worker-vitals';

export type { TrainOutcome } from './run-report-relay';

/** At most this long (and half the shutdown grace) a hand-back waits for the API to record its checkpoint. */
const HAND_BACK_RECORD_WAIT_MS = 10_000;

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
  /** Runs in progress, by experiment: how to hand each back, and when it has ended. */
  private readonly active = new Map<string, { handBack: AbortController; ended: Promise<void> }>();
  private shuttingDown = false;

  constructor(
    @Inject(CONFIG) private readonly config: TfleetConfig,
    @Inject(WORKER_BACKEND) private readonly workerBackend: BackendName,
    private readonly cancellation: CancellationService,
    private readonly publisher: RunEventPublisher,
    private readonly baselines: ThroughputBaselines,
    private readonly executions: ExecutionCounter,
    private readonly locks: JobLocks,
    private readonly rankGroups: RankGroupFactory,
    private readonly checkpoints: RunCheckpoints,
    private readonly vitals: WorkerVitals,
  ) {}

  /**
   * Shutdown: every run in progress stops at its next step boundary, checkpoints there and
   * hands its job back to the queue (another worker resumes it at once); a run that starts from
   * now on is handed back before it trains. Resolves when every run has ended.
   */
  async handBackAll(): Promise<void> {
    this.shuttingDown = true;
    const runs = [...this.active.values()];
    for (const run of runs) run.handBack.abort();
    await Promise.all(runs.map((run) => run.ended));
  }

  /**
   * `attempt` in run events is this execution's number (see ExecutionCounter), not BullMQ's
   * failure count, so a run taken over after a stall reports as a new attempt. While it
   * trains, the job's lock is watched: once it may be lost, the ranks stop at their next step
   * and the attempt publishes nothing more (`JobLostError`).
   */
  async run(job: Job<TrainExperimentJobData>, data: TrainExperimentJobData, token: string | undefined): Promise<TrainOutcome> {
    const { experimentId } = data;
    const handBack = new AbortController();
    if (this.shuttingDown) handBack.abort();
    let ended = (): void => undefined;
    this.active.set(experimentId, { handBack, ended: new Promise<void>((resolve) => (ended = resolve)) });
    try {
      const outcome = await this.attempt(job, data, token, handBack.signal);
      if (outcome === 'handed-back' && token !== undefined) {
        // Back to waiting, attempt not counted as a failure: the next free worker resumes it now.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      return outcome;
    } finally {
      this.active.delete(experimentId);
      ended();
    }
  }

  private async attempt(job: Job<TrainExperimentJobData>, data: TrainExperimentJobData, token: string | undefined, handBack: AbortSignal): Promise<TrainOutcome> {
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
      const outcome = await this.train(job, data, events, backend, ranks, attempt, lost.signal, handBack);
      if (jobLost.error) throw jobLost.error;
      this.logger.log(`experiment ${experimentId} attempt ${attempt}: ${outcome}`, { experimentId, attempt });
      return outcome;
    } catch (error) {
      if (jobLost.error) throw jobLost.error;
      // The 'diverged' event went out already; the same spec and seed would diverge again.
      if (error instanceof DivergedError) throw new UnrecoverableError(error.message);
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
    handBack: AbortSignal,
  ): Promise<TrainOutcome> {
    const { experimentId, spec } = data;
    const { signal: cancelled, release } = await this.cancellation.watch(experimentId);
    // The ranks stop at their next step for any reason; which one it was is decided after.
    const signal = AbortSignal.any([cancelled, jobLost, handBack]);
    const handingBack = () => handBack.aborted && !cancelled.aborted && !jobLost.aborted;
    try {
      if (handingBack()) return 'handed-back';
      if (signal.aborted) {
        await events.send({ type: 'cancelled', step: 0 });
        return 'cancelled';
      }
      const resume = await this.checkpoints.resumePoint(experimentId);
      const pretrained = data.pretrained ? await this.readPretrained(data.pretrained) : undefined;
      const transport = needsRankProcesses(backend) ? 'processes' : 'threads';
      // Thread ranks of the same backend and count run on the pool the last experiment left
      // warm (V8 has optimised tfjs there already); the lease is released however the run ends.
      const lease = await this.rankGroups.acquire(
        {
          transport,
          worldSize: ranks,
          barrierTimeoutMs: this.config.barrierTimeoutMs,
          ...(transport === 'processes' ? { intraOpThreads: this.config.intraOpThreads, ...(this.config.gpuDevices.length > 0 ? { gpuDevices: this.config.gpuDevices } : {}) } : {}),
          // webgpu: one rank process per adapter (adapter index in the rank's environment).
          ...(backend === 'webgpu' ? { webgpuAdapters: webgpuRankAdapters(this.config.gpuDevices) } : {}),
        },
        backend,
      );
      const group = lease.group;
      const relay = new RunReportRelay({
        events,
        progress: (progress) => void this.updateProgress(job, progress),
        runtimeInfo: (ready) => this.runtimeInfo(ready, ranks, transport, spec.training.seed, lease.pool()),
        scalingEfficiency: (ranOn, samplesPerSecond) => this.scaling(experimentId, spec, ranOn, ranks, samplesPerSecond),
        storeCheckpoint: (checkpoint) => this.storeCheckpoint(experimentId, attempt, checkpoint, jobLost),
        handingBack,
        resumedFromStep: resume?.pointer.step ?? null,
      });
      const from = resume ? `, resuming from step ${resume.pointer.step} (${resume.pointer.ref})` : '';
      this.logger.log(`experiment ${experimentId} attempt ${attempt}: ${spec.model.family} on ${spec.dataset.name}, ${ranks} rank(s) on ${backend} ${transport}${from}`, { experimentId, attempt });
      const stall = this.config.testStallAtStep !== null && attempt === 1 ? { testStallAtStep: this.config.testStallAtStep } : {};
      const taskForRank = (rank: number): RankTask => ({ experimentId, attempt, spec, rank, worldSize: ranks, backend, pretrained, ...resumeFrom(resume), ...stall });
      // Setup (data, model) is bounded by the group's setup timeout; from the first report on,
      // a run silent for TFLEET_STEP_TIMEOUT_MS is hung: its ranks are ended and the attempt fails.
      const watchdog = new SilenceWatchdog(this.config.stepTimeoutMs, () => {
        this.logger.warn(`experiment ${experimentId} attempt ${attempt}: no progress for ${this.config.stepTimeoutMs} ms; ending its ranks`);
        group.fail(`no progress for ${this.config.stepTimeoutMs} ms (TFLEET_STEP_TIMEOUT_MS): a rank is stuck in a step or an evaluation`);
      });
      const onReport = (report: RankReport): void => {
        watchdog.reset();
        if (report.kind === 'memory') {
          this.vitals.recordRankMemory(report.tensors, report.bytes);
          lease.recordRankMemory(report.tensors, report.bytes);
        } else relay.onReport(report);
      };
      try {
        await group.run(taskForRank, onReport, signal);
      } finally {
        watchdog.stop();
        lease.release();
        await relay.flushed();
      }
      const outcome = relay.outcome;
      const diverged = relay.diverged;
      if (diverged) throw new DivergedError(experimentId, diverged.step, diverged.loss, diverged.lastFiniteLoss);
      if (outcome === 'handed-back' || (outcome === null && handingBack())) {
        await this.awaitRecorded(experimentId, attempt, relay.handBack.checkpoint);
        return 'handed-back';
      }
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
   * Writes a checkpoint to the store. Skipped once the attempt has lost its job (the API would
   * never record it); a write that fails costs that checkpoint, never the run.
   */
  private async storeCheckpoint(experimentId: string, attempt: number, checkpoint: CheckpointPayload, jobLost: AbortSignal): Promise<CheckpointPointer | null> {
    if (jobLost.aborted) return null;
    try {
      return await this.checkpoints.write(experimentId, attempt, checkpoint);
    } catch (error) {
      this.logger.error(`experiment ${experimentId} attempt ${attempt}: checkpoint at step ${checkpoint.step} not stored: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    }
  }

  /** A hand-back waits (bounded) until the API has recorded its last checkpoint, so the next attempt resumes from it. */
  private async awaitRecorded(experimentId: string, attempt: number, checkpoint: CheckpointPointer | null): Promise<void> {
    if (checkpoint === null) {
      this.logger.log(`experiment ${experimentId} attempt ${attempt}: handed back before its first checkpoint`);
      return;
    }
    const recorded = await this.checkpoints.waitUntilRecorded(experimentId, checkpoint, Math.min(HAND_BACK_RECORD_WAIT_MS, this.config.shutdownGraceMs / 2));
    this.logger.log(`experiment ${experimentId} attempt ${attempt}: handed back at step ${checkpoint.step}${recorded ? '' : ' (the API had not recorded that checkpoint yet: the next attempt may resume from an earlier one)'}`);
  }

  /** The pretrained checkpoint a fine-tuning job names; a missing one fails the run for good (retrying would not bring it back). */
  private async readPretrained(pointer: CheckpointPointer): Promise<CheckpointPayload> {
    try {
      return await this.checkpoints.read(pointer);
    } catch (error) {
      throw new UnrecoverableError(`the pretrained checkpoint cannot be read: ${error instanceof Error ? error.message : String(error)}`);
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

  private runtimeInfo(report: Extract<RankReport, { kind: 'ready' }>, ranks: number, transport: RuntimeInfo['rankTransport'], seed: number, pool: RankPoolRecord | null): RuntimeInfo {
    return {
      ...(pool ? { rankPool: pool } : {}),
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

function resumeFrom(resume: ResumePoint | null): Pick<RankTask, 'resumeFrom'> {
  return resume ? { resumeFrom: resume.payload } : {};
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

/** The run's loss stopped being finite; its 'diverged' event is sent and it is not retried. */
export class DivergedError extends Error {
  override name = 'DivergedError';

  constructor(experimentId: string, step: number, loss: string, lastFiniteLoss: number | null) {
    super(`experiment ${experimentId} diverged: loss ${loss} at step ${step} (last finite loss ${lastFiniteLoss ?? 'none'})`);
  }
}

/**
 * Calls `onSilence` once when `reset` has not been called for `timeoutMs`. Armed by the first
 * `reset` (the first report), so setup is left to the rank group's own timeout.
 */
export class SilenceWatchdog {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly onSilence: () => void,
  ) {}

  reset(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.stopped = true;
      this.onSilence();
    }, this.timeoutMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

/** A valid spec that this worker's configuration cannot run; retrying would not help. */
export class SpecNotServableError extends Error {
  override name = 'SpecNotServableError';
}
