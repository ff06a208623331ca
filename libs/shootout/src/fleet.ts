import type { MetricValues } from '@tfleet/contracts';
import { type ClaimVerdict, evaluateClaims } from './claims';
import type { ShootoutSuite } from './presets';
import { type EpochPoint, findConvergence, type ShootoutRow } from './rows';

/**
 * Shootout rows from runs the fleet recorded (a shootout posted to the API runs as a sweep),
 * instead of from a rank's reports: the same row, so the same table and claim verdicts.
 */

/** One trial as the API stored it: the run's summary, its metric history and its epoch times. */
export interface RecordedRun {
  label: string;
  family: string;
  dataset: string;
  status: string;
  error: string | null;
  paramCount: number | null;
  test: MetricValues | null;
  baselines: MetricValues | null;
  samplesPerSecond: number | null;
  steps: number | null;
  /** Training time as the rank measured it. */
  trainMs: number | null;
  /** From the run's start to its end. */
  wallMs: number | null;
  backend: string | null;
  device: string | null;
  /** Train and validation metrics per epoch. */
  history: { epoch: number; step: number; train: MetricValues; validation: MetricValues }[];
  /** Each epoch's training time and throughput, as the epoch events reported them. */
  epochTimes: { epoch: number; wallTimeMs: number; samplesPerSecond: number }[];
}

export function rowFromRecordedRun(run: RecordedRun, target: ShootoutSuite['target']): ShootoutRow {
  const times = new Map(run.epochTimes.map((t) => [t.epoch, t]));
  let samples = 0;
  const epochs: EpochPoint[] = run.history.map((h) => {
    const time = times.get(h.epoch);
    samples += time ? Math.round((time.samplesPerSecond * time.wallTimeMs) / 1000) : 0;
    return { epoch: h.epoch, step: h.step, samples, trainLoss: h.train['loss'] ?? null, validation: h.validation, wallTimeMs: time?.wallTimeMs ?? 0 };
  });
  const completed = run.status === 'completed';
  return {
    label: run.label,
    family: run.family,
    dataset: run.dataset,
    params: run.paramCount,
    test: run.test ?? {},
    baselines: run.baselines ?? {},
    epochs,
    // Without every epoch's time, time to target is unknown rather than wrong.
    convergence: epochs.every((e) => times.has(e.epoch)) ? findConvergence(epochs, target) : null,
    samplesPerSecond: completed ? run.samplesPerSecond : null,
    steps: run.steps ?? epochs.at(-1)?.step ?? 0,
    trainMs: run.trainMs ?? epochs.reduce((sum, e) => sum + e.wallTimeMs, 0),
    wallMs: run.wallMs ?? 0,
    backend: run.backend,
    device: run.device,
    error: completed ? null : (run.error ?? run.status),
  };
}

/** Mean and sample standard deviation (null for one value). */
export interface Spread {
  n: number;
  mean: number;
  std: number | null;
}

export function spreadOf(values: readonly number[]): Spread | null {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return null;
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  const std = finite.length > 1 ? Math.sqrt(finite.reduce((a, b) => a + (b - mean) ** 2, 0) / (finite.length - 1)) : null;
  return { n: finite.length, mean, std };
}

const meanOf = (values: readonly (number | null | undefined)[]): number | null => spreadOf(values.filter((v): v is number => typeof v === 'number'))?.mean ?? null;

function meanValues(maps: readonly MetricValues[]): MetricValues {
  const names = new Set(maps.flatMap((m) => Object.keys(m)));
  const out: MetricValues = {};
  for (const name of names) {
    const mean = meanOf(maps.map((m) => m[name]));
    if (mean !== null) out[name] = mean;
  }
  return out;
}

/**
 * One row per label from its seeds' rows: the completed seeds' means (test metrics, baselines,
 * throughput, times, each epoch's validation metrics); convergence is the mean over seeds only
 * when every completed seed reached the target. A label none of whose seeds completed keeps its
 * first row (and its error).
 */
export function meanRow(rows: readonly ShootoutRow[]): ShootoutRow {
  const done = rows.filter((r) => r.error === null);
  if (done.length === 0) return rows[0]!;
  if (done.length === 1) return done[0]!;
  const epochCount = Math.min(...done.map((r) => r.epochs.length));
  const epochs: EpochPoint[] = Array.from({ length: epochCount }, (_, i) => ({
    epoch: i + 1,
    step: Math.round(meanOf(done.map((r) => r.epochs[i]!.step))!),
    samples: Math.round(meanOf(done.map((r) => r.epochs[i]!.samples))!),
    trainLoss: meanOf(done.map((r) => r.epochs[i]!.trainLoss)),
    validation: meanValues(done.map((r) => r.epochs[i]!.validation)),
    wallTimeMs: meanOf(done.map((r) => r.epochs[i]!.wallTimeMs))!,
  }));
  const converged = done.map((r) => r.convergence);
  const convergence = converged.every((c) => c !== null)
    ? {
        epoch: meanOf(converged.map((c) => c!.epoch))!,
        step: Math.round(meanOf(converged.map((c) => c!.step))!),
        samples: Math.round(meanOf(converged.map((c) => c!.samples))!),
        trainMs: meanOf(converged.map((c) => c!.trainMs))!,
      }
    : null;
  const first = done[0]!;
  return {
    ...first,
    test: meanValues(done.map((r) => r.test)),
    baselines: meanValues(done.map((r) => r.baselines)),
    epochs,
    convergence,
    samplesPerSecond: meanOf(done.map((r) => r.samplesPerSecond)),
    steps: Math.round(meanOf(done.map((r) => r.steps))!),
    trainMs: meanOf(done.map((r) => r.trainMs))!,
    wallMs: meanOf(done.map((r) => r.wallMs))!,
  };
}

export interface FleetShootout {
  rows: ShootoutRow[];
  /** Per label, every test metric's mean and std over the seeds that completed. */
  spread: Record<string, Record<string, Spread>>;
  claims: ClaimVerdict[];
}

/** The suite's table rows (means over seeds), the spread per label, and the claims judged on the means. */
export function summarizeFleetShootout(suite: Pick<ShootoutSuite, 'claims'>, labels: readonly string[], rowsBySeed: ReadonlyMap<string, readonly ShootoutRow[]>): FleetShootout {
  const rows = labels.flatMap((label) => {
    const seeds = rowsBySeed.get(label) ?? [];
    return seeds.length > 0 ? [meanRow(seeds)] : [];
  });
  const spread: FleetShootout['spread'] = {};
  for (const label of labels) {
    const done = (rowsBySeed.get(label) ?? []).filter((r) => r.error === null);
    const names = new Set(done.flatMap((r) => Object.keys(r.test)));
    spread[label] = {};
    for (const name of names) {
      const s = spreadOf(done.map((r) => r.test[name]).filter((v): v is number => v !== undefined));
      if (s) spread[label][name] = s;
    }
  }
  return { rows, spread, claims: evaluateClaims(suite.claims, rows) };
}

/** Markdown: each label's test metric as mean ± std over its completed seeds. */
export function renderSpread(metric: string, labels: readonly string[], spread: FleetShootout['spread']): string {
  const lines = [`Test ${metric}, mean ± std over the seeds that completed:`, '', `| model | seeds | test ${metric} |`, '|---|---:|---|'];
  for (const label of labels) {
    const s = spread[label]?.[metric];
    const format = (v: number) => (Math.abs(v) >= 1000 || Math.abs(v) < 0.001 ? v.toPrecision(3) : v.toFixed(4));
    lines.push(`| ${label} | ${s?.n ?? 0} | ${s ? `${format(s.mean)}${s.std !== null ? ` ± ${format(s.std)}` : ''}` : 'n/a'} |`);
  }
  return `${lines.join('\n')}\n`;
}
