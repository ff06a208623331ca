import { ConflictException, Inject, Injectable, Logger, NotFoundException, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type IORedis from 'ioredis';
import type { RunEvent } from '@tfleet/contracts';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import { type ExperimentEntity, ExperimentsRepository, type Page, type SweepEntity, SweepsRepository, TERMINAL_STATUSES } from '@tfleet/persistence';
import { cancelKey } from '@tfleet/queue';
import { ashaDecision, type LabelledSpec, meetsStopWhen, type PlanResult, planLabelled, planSweep, type SweepRequest, type TrialPlan } from '@tfleet/sweeps';
import { EXPERIMENTS_QUEUE, type ExperimentsQueue } from '../common/experiments-queue.provider';
import { JobSignals } from '../common/job-signals';
import { RedisGate } from '../common/redis-gate';
import { REDIS } from '../common/redis.provider';
import { invalidInput } from '../common/zod-validation.pipe';
import { sweepMetric } from './sweep.view';
import { ExperimentsService } from '../experiments/experiments.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What a sweep of labelled specs (a shootout) stores as its request: the request fields its
 * scheduler reads, plus the entries themselves, so it plans the same even if a preset changes.
 */
export interface LabelledRequest {
  method: 'grid';
  seeds: number[];
  maxConcurrent?: number;
  entries: LabelledSpec[];
  /** Whatever else names it (the suite). */
  about: Record<string, unknown>;
}

/** The plan of a stored request: a search space, or labelled specs. */
function planStored(kind: string, request: Record<string, unknown>): PlanResult {
  if (kind === 'sweep') return planSweep(request as unknown as SweepRequest);
  const labelled = request as unknown as LabelledRequest;
  return planLabelled(labelled.entries, labelled.seeds, labelled);
}

/** A sweep as stored, with its plan (the trials in order) rebuilt from the stored request. */
export interface SweepWithPlan {
  sweep: SweepEntity;
  request: SweepRequest;
  plan: TrialPlan[];
}

/**
 * Sweeps: many experiments (trials) from one search space, scheduled across the fleet.
 *
 * - Creation validates every trial before anything is stored; trial ids are deterministic, so
 *   the same content posted twice is the same sweep and never a second set of trials.
 * - `maxConcurrent` holds across the fleet because the API alone queues trials: the others wait
 *   as `pending` rows with no job, and each run event that ends a trial queues the next
 *   (`fill`). A pass at start and every reconcile interval fills what events missed (an API restart).
 * - ASHA and stopWhen are decided here as epoch events arrive; a stopped trial is marked
 *   `stopped` at once and its worker told to stop (its `cancelled` event then finds it finished).
 */
@Injectable()
export class SweepsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SweepsService.name);
  /** Per sweep, the fill in progress: fills of one sweep never overlap (they count, then queue). */
  private readonly fills = new Map<string, Promise<void>>();
  private readonly plans = new Map<string, { request: SweepRequest; plan: TrialPlan[] }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sweeps: SweepsRepository,
    private readonly experimentsRepository: ExperimentsRepository,
    private readonly experiments: ExperimentsService,
    private readonly signals: JobSignals,
    private readonly redisGate: RedisGate,
    @Inject(REDIS) private readonly redis: IORedis,
    @Inject(EXPERIMENTS_QUEUE) private readonly queue: ExperimentsQueue,
    @Inject(CONFIG) private readonly config: TfleetConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.fillAll();
    this.timer = setInterval(() => void this.fillAll(), this.config.reconcileIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Validates and stores a sweep with all its trials, then queues as many as maxConcurrent allows.
   * `created` is false when the same content was posted before (nothing new is stored).
   */
  create(request: SweepRequest): Promise<{ sweep: SweepWithPlan; created: boolean }> {
    return this.store('sweep', request.name ?? null, request as unknown as Record<string, unknown>);
  }

  /** A sweep of labelled specs, each once per seed (a shootout suite). */
  createLabelled(kind: string, name: string, request: LabelledRequest): Promise<{ sweep: SweepWithPlan; created: boolean }> {
    return this.store(kind, name, request as unknown as Record<string, unknown>);
  }

  private async store(kind: string, name: string | null, request: Record<string, unknown>): Promise<{ sweep: SweepWithPlan; created: boolean }> {
    const plan = planStored(kind, request);
    if (!plan.ok) throw invalidInput(kind, plan.issues);
    this.redisGate.assertReady(`a ${kind}`);
    const { sweep, created } = await this.sweeps.create(
      { id: plan.id, key: plan.key, name, kind, request },
      plan.trials.map((t) => ({ id: t.id, spec: t.spec, status: 'pending' })),
    );
    if (created) await this.fill(sweep.id);
    return { sweep: await this.withPlan(sweep), created };
  }

  list(page: number, pageSize: number): Promise<Page<SweepEntity>> {
    return this.sweeps.list(page, pageSize);
  }

  async get(id: string, kind?: string): Promise<SweepWithPlan & { trials: ExperimentEntity[]; epochs: Map<string, number>; points: Awaited<ReturnType<SweepsRepository['points']>> }> {
    const found = await this.findOrFail(id, kind);
    const trials = await this.sweeps.trials(id);
    const metric = sweepMetric(found.request).name;
    return { ...found, trials, epochs: await this.sweeps.epochsByTrial(id), points: await this.sweeps.points(id, metric) };
  }

  /** Cancels a running sweep: waiting trials are cancelled, running ones told to stop. 409 if it has ended. */
  async cancel(id: string): Promise<SweepWithPlan> {
    const found = await this.findOrFail(id);
    if (found.sweep.status !== 'running') throw new ConflictException(`sweep ${id} is already ${found.sweep.status}`);
    this.redisGate.assertReady('a cancel');
    const { live } = await this.sweeps.finishSweep(id, 'cancelled', 'cancelled', null, new Date());
    await this.stopJobs(live);
    return this.findOrFail(id);
  }

  /** Queues the failed and cancelled trials again (same ids); returns their ids. */
  async rerunFailed(id: string): Promise<{ sweep: SweepWithPlan; requeued: string[] }> {
    await this.findOrFail(id);
    this.redisGate.assertReady('a rerun');
    const candidates = await this.sweeps.trialsWithStatus(id, ['failed', 'cancelled']);
    // A trial's old job must go first (BullMQ keeps finished jobs, and an add with their id is a no-op);
    // one still active (a cancel not yet noticed by its worker) is left for a later rerun.
    for (const trial of candidates) {
      const job = await this.redisGate.call('a rerun', () => this.queue.getJob(trial.id));
      if (job && (await job.getState()) === 'active') continue;
      if (job) await job.remove();
      await this.redis.del(cancelKey(this.config.queuePrefix, trial.id));
    }
    const requeued = candidates.length === 0 ? [] : await this.sweeps.resetFailed(id);
    if (requeued.length > 0) await this.fill(id);
    return { sweep: await this.findOrFail(id), requeued };
  }

  /**
   * After a run event was applied: ASHA at a rung, stopWhen, and a trial that ended making room
   * for the next. Never throws (the event is already recorded; a missed fill is made by the timer).
   */
  async afterRunEvent(event: RunEvent): Promise<void> {
    try {
      const trial = await this.experimentsRepository.findById(event.experimentId);
      if (!trial?.sweepId) return;
      const found = await this.loadPlan(trial.sweepId);
      if (!found || found.sweep.status !== 'running') return;
      if (event.type === 'epoch' && found.sweep.kind !== 'sweep') {
        await this.sweeps.recordEpochTime(found.sweep.id, trial.id, { epoch: event.epoch, step: event.step, wallTimeMs: event.wallTimeMs, samplesPerSecond: event.samplesPerSecond });
      }
      if (event.type === 'epoch' || event.type === 'completed') await this.judge(found, trial, event);
      await this.fill(trial.sweepId);
    } catch (error) {
      this.logger.error(`sweep step after ${event.type} of ${event.experimentId} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async judge(found: SweepWithPlan, trial: ExperimentEntity, event: Extract<RunEvent, { type: 'epoch' | 'completed' }>): Promise<void> {
    const { request, sweep } = found;
    const { stopWhen, earlyStopping } = request;
    const valueOf = (metric: string) => (event.type === 'epoch' ? (event.validation[metric] ?? event.train[metric]) : event.test[metric]);
    if (stopWhen && meetsStopWhen(stopWhen, valueOf(stopWhen.metric))) {
      const stoppedBy = { trialId: trial.id, metric: stopWhen.metric, value: valueOf(stopWhen.metric)! };
      // The trial that met the goal trains on to its end (its result is the sweep's answer); the rest stop.
      const { live } = await this.sweeps.finishSweep(sweep.id, 'completed', 'stopped', stoppedBy, new Date(), trial.id);
      this.logger.log(`sweep ${sweep.id}: stopWhen met by ${trial.id} (${stopWhen.metric} ${stoppedBy.value})`);
      await this.stopJobs(live);
      return;
    }
    if (!earlyStopping || event.type !== 'epoch' || trial.status !== 'running') return;
    const value = valueOf(earlyStopping.metric);
    const recorded = await this.rungValues(sweep.id, earlyStopping.metric, event.epoch);
    const decision = ashaDecision(earlyStopping, event.epoch, value, recorded);
    if (decision.action !== 'stop') return;
    const stop = { rung: decision.rung, epoch: decision.epoch, metric: earlyStopping.metric, value: decision.value, cutoff: decision.cutoff };
    if (await this.sweeps.stopTrial(sweep.id, trial.id, stop, new Date())) {
      this.logger.log(`sweep ${sweep.id}: trial ${trial.id} stopped at rung ${stop.rung} (epoch ${stop.epoch}, ${stop.metric} ${stop.value}, cutoff ${stop.cutoff})`);
      await this.stopJobs([trial.id]);
    }
  }

  /** The metric each trial recorded at an epoch: its validation value, else its train value. */
  private async rungValues(sweepId: string, metric: string, epoch: number): Promise<number[]> {
    const byTrial = new Map<string, { train?: number; validation?: number }>();
    for (const p of await this.sweeps.points(sweepId, metric)) {
      if (p.epoch !== epoch) continue;
      const entry = byTrial.get(p.experimentId) ?? {};
      entry[p.split === 'validation' ? 'validation' : 'train'] = p.value;
      byTrial.set(p.experimentId, entry);
    }
    return [...byTrial.values()].flatMap((v) => (v.validation ?? v.train) !== undefined ? [(v.validation ?? v.train)!] : []);
  }

  /** Queues pending trials, in plan order, while fewer than maxConcurrent are queued or running; completes a sweep with nothing left. */
  fill(sweepId: string): Promise<void> {
    const previous = this.fills.get(sweepId) ?? Promise.resolve();
    const next = previous.then(() => this.fillNow(sweepId)).catch((error: unknown) => {
      this.logger.warn(`sweep ${sweepId}: could not queue trials now (${error instanceof Error ? error.message : String(error)}); the next pass tries again`);
    });
    this.fills.set(sweepId, next);
    void next.finally(() => {
      if (this.fills.get(sweepId) === next) this.fills.delete(sweepId);
    });
    return next;
  }

  private async fillNow(sweepId: string): Promise<void> {
    const found = await this.loadPlan(sweepId);
    if (!found || found.sweep.status !== 'running') return;
    const trials = await this.sweeps.trialStatuses(sweepId);
    const live = trials.filter((t) => t.status === 'queued' || t.status === 'running').length;
    const pendingIds = new Set(trials.filter((t) => t.status === 'pending').map((t) => t.id));
    if (pendingIds.size === 0) {
      if (live === 0 && trials.every((t) => TERMINAL_STATUSES.includes(t.status))) await this.sweeps.complete(sweepId, new Date());
      return;
    }
    const room = (found.request.maxConcurrent ?? Number.POSITIVE_INFINITY) - live;
    if (room <= 0 || !this.redisGate.ready) return;
    const next = found.plan.filter((t) => pendingIds.has(t.id)).slice(0, room);
    const promoted = await this.sweeps.promote(next.map((t) => t.id));
    const byId = new Map((await this.experimentsRepository.findByIds(promoted)).map((t) => [t.id, t]));
    for (const id of promoted) {
      try {
        await this.redisGate.call('queueing a trial', () => this.experiments.requeue(byId.get(id)!));
      } catch (error) {
        await this.sweeps.hold(id);
        throw error;
      }
    }
  }

  private async fillAll(): Promise<void> {
    try {
      for (const sweep of await this.sweeps.running()) await this.fill(sweep.id);
    } catch (error) {
      this.logger.warn(`sweep pass abandoned: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async stopJobs(ids: readonly string[]): Promise<void> {
    for (const id of ids) await this.signals.stop(id).catch((error: unknown) => this.logger.warn(`could not signal ${id} to stop: ${String(error)}`));
  }

  private async loadPlan(id: string): Promise<SweepWithPlan | null> {
    const sweep = await this.sweeps.findById(id);
    return sweep ? this.withPlan(sweep) : null;
  }

  /** The stored request planned again (deterministic; cached per sweep, the request never changes). */
  private async withPlan(sweep: SweepEntity): Promise<SweepWithPlan> {
    let cached = this.plans.get(sweep.id);
    if (!cached) {
      const request = sweep.request as unknown as SweepRequest;
      const plan = planStored(sweep.kind, sweep.request);
      if (!plan.ok) throw new Error(`sweep ${sweep.id}: its stored request no longer plans (${plan.issues.map((i) => i.field).join(', ')})`);
      cached = { request, plan: plan.trials };
      this.plans.set(sweep.id, cached);
    }
    return { sweep, ...cached };
  }

  /** The sweep, or a 404; with `kind`, a sweep of another kind is a 404 too (a shootout's id under /sweeps works). */
  async findOrFail(id: string, kind?: string): Promise<SweepWithPlan> {
    const sweep = UUID.test(id) ? await this.sweeps.findById(id) : null;
    if (!sweep || (kind !== undefined && sweep.kind !== kind)) throw new NotFoundException(`${kind ?? 'sweep'} ${id} not found`);
    return this.withPlan(sweep);
  }
}
