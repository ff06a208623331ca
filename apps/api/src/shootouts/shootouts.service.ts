import { Injectable } from '@nestjs/common';
import type { MetricValues } from '@tfleet/contracts';
import { type ExperimentEntity, ExperimentsRepository } from '@tfleet/persistence';
import {
  renderMarkdown,
  renderSpread,
  type RecordedRun,
  rowFromRecordedRun,
  SHOOTOUT_SUITES,
  type ShootoutResult,
  type ShootoutRow,
  type ShootoutSuite,
  summarizeFleetShootout,
} from '@tfleet/shootout-report';
import { invalidInput } from '../common/zod-validation.pipe';
import { type LabelledRequest, SweepsService } from '../sweeps/sweeps.service';

export interface ShootoutRequest {
  suite: string;
  seeds: number[];
  maxConcurrent?: number;
  /** Only these entries of the suite. */
  only?: string[];
  /** Every entry trains this many epochs instead of the suite's budget. */
  epochs?: number;
}

/** The trial's label in a shootout (its assignment). */
const labelOf = (assignment: Record<string, unknown>): string => String(assignment['label']);

/**
 * Shootouts on the fleet: a suite's specs become a sweep (each entry once per seed), spread
 * across the workers; the recorded runs give the same table and claim verdicts as
 * `npm run shootout`, with means over the seeds.
 */
@Injectable()
export class ShootoutsService {
  constructor(
    private readonly sweeps: SweepsService,
    private readonly experiments: ExperimentsRepository,
  ) {}

  async create(request: ShootoutRequest) {
    const suite = SHOOTOUT_SUITES[request.suite];
    if (!suite) throw invalidInput('shootout', [{ field: 'suite', message: `unknown suite '${request.suite}'; suites: ${Object.keys(SHOOTOUT_SUITES).join(', ')}` }]);
    const unknown = (request.only ?? []).filter((label) => !suite.entries.some((e) => e.label === label));
    if (unknown.length > 0) throw invalidInput('shootout', [{ field: 'only', message: `not entries of ${suite.name}: ${unknown.join(', ')}` }]);
    const entries = suite.entries
      .filter((e) => !request.only || request.only.includes(e.label))
      .map((e) => ({ label: e.label, spec: request.epochs === undefined ? e.spec : { ...e.spec, training: { ...e.spec.training, epochs: request.epochs } } }));
    const stored: LabelledRequest = {
      method: 'grid',
      seeds: request.seeds,
      ...(request.maxConcurrent !== undefined ? { maxConcurrent: request.maxConcurrent } : {}),
      entries,
      about: { suite: suite.name, ...(request.only ? { only: request.only } : {}), ...(request.epochs !== undefined ? { epochs: request.epochs } : {}) },
    };
    const { sweep, created } = await this.sweeps.createLabelled('shootout', `shootout ${suite.name}`, stored);
    return { id: sweep.sweep.id, created };
  }

  /** The suite's table and verdicts over what has been recorded so far (rows of unfinished trials say so). */
  async report(id: string) {
    const found = await this.sweeps.findOrFail(id, 'shootout');
    const stored = found.sweep.request as unknown as LabelledRequest;
    const suite: ShootoutSuite = SHOOTOUT_SUITES[String(stored.about['suite'])]!;
    const trials = new Map((await this.sweeps.get(id, 'shootout')).trials.map((t) => [t.id, t]));
    const rowsBySeed = new Map<string, ShootoutRow[]>();
    const perSeed: { id: string; label: string; seed: number; status: string; test: MetricValues | null }[] = [];
    const workers = new Set<string>();
    let environment: ShootoutResult['environment'] | null = null;
    let lastEnd = found.sweep.createdAt.getTime();
    for (const trial of found.plan) {
      const row = trials.get(trial.id);
      const label = labelOf(trial.assignment);
      perSeed.push({ id: trial.id, label, seed: trial.seed, status: row?.status ?? 'missing', test: row?.testMetrics ?? null });
      if (!row) continue;
      if (row.runtime) {
        workers.add(row.runtime.workerId);
        environment ??= { backend: row.runtime.backend, device: row.runtime.device, node: row.runtime.nodeVersion, cpus: 0 };
      }
      if (row.finishedAt) lastEnd = Math.max(lastEnd, row.finishedAt.getTime());
      const recorded = await this.recordedRun(row, label, found.sweep.epochTimes[trial.id] ?? []);
      rowsBySeed.set(label, [...(rowsBySeed.get(label) ?? []), rowFromRecordedRun(recorded, suite.target)]);
    }
    const labels = stored.entries.map((e) => e.label);
    const summary = summarizeFleetShootout(suite, labels, rowsBySeed);
    const result: ShootoutResult = {
      suite: suite.name,
      description: suite.description,
      metric: suite.metric,
      target: suite.target,
      specs: Object.fromEntries(found.plan.filter((t) => t.seed === stored.seeds[0]).map((t) => [labelOf(t.assignment), t.spec])),
      rows: summary.rows,
      claims: summary.claims,
      startedAt: found.sweep.createdAt.toISOString(),
      wallMs: lastEnd - found.sweep.createdAt.getTime(),
      environment: { ...(environment ?? { backend: 'n/a', device: 'n/a', node: 'n/a', cpus: 0 }), workers: [...workers].sort() },
    };
    const seeds = stored.seeds.length;
    const markdown = renderMarkdown(result) + (seeds > 1 ? `\n${renderSpread(suite.metric.name, labels, summary.spread)}` : '');
    return {
      id,
      status: found.sweep.status,
      seeds: stored.seeds,
      about: stored.about,
      trials: perSeed,
      ...result,
      spread: summary.spread,
      markdown,
    };
  }

  private async recordedRun(row: ExperimentEntity, label: string, epochTimes: RecordedRun['epochTimes']): Promise<RecordedRun> {
    const history = new Map<number, RecordedRun['history'][number]>();
    for (const p of await this.experiments.metricHistory(row.id)) {
      if (p.split === 'test') continue;
      const entry = history.get(p.epoch) ?? { epoch: p.epoch, step: p.step, train: {}, validation: {} };
      (p.split === 'validation' ? entry.validation : entry.train)[p.name] = p.value;
      history.set(p.epoch, entry);
    }
    return {
      label,
      family: row.modelFamily,
      dataset: row.datasetName,
      status: row.status,
      error: row.error,
      paramCount: row.paramCount,
      test: row.testMetrics,
      baselines: row.baselines,
      samplesPerSecond: row.samplesPerSecond,
      steps: row.steps,
      trainMs: row.wallTimeMs,
      wallMs: row.startedAt && row.finishedAt ? row.finishedAt.getTime() - row.startedAt.getTime() : null,
      backend: row.runtime?.backend ?? null,
      device: row.runtime?.device ?? null,
      history: [...history.values()].sort((a, b) => a.epoch - b.epoch),
      epochTimes,
    };
  }
}
