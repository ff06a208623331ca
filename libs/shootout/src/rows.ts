import type { MetricValues, RankReport } from '@tfleet/contracts';

/** "Reached the target": the first epoch whose validation `metric` is at most / at least `value`. */
export interface ConvergenceTarget {
  metric: string;
  goal: 'at-most' | 'at-least';
  value: number;
}

/** Validation figures after one epoch, with how much training it had taken by then. */
export interface EpochPoint {
  epoch: number;
  /** Optimizer steps taken so far in the run. */
  step: number;
  /** Training samples seen so far in the run. */
  samples: number;
  trainLoss: number | null;
  validation: MetricValues;
  /** Training time of this epoch (evaluation excluded). */
  wallTimeMs: number;
}

export interface Convergence {
  epoch: number;
  step: number;
  samples: number;
  /** Training time up to the end of that epoch. */
  trainMs: number;
}

/** One measured model of a shootout. */
export interface ShootoutRow {
  label: string;
  family: string;
  dataset: string;
  /** Trainable parameters; null when the run failed before the model was built. */
  params: number | null;
  test: MetricValues;
  baselines: MetricValues;
  epochs: EpochPoint[];
  /** When the validation metric first reached the suite's target; null if it never did. */
  convergence: Convergence | null;
  /** Training throughput over the whole run (evaluation excluded). */
  samplesPerSecond: number | null;
  steps: number;
  /** Training time as the rank measured it (evaluation and checkpoints excluded). */
  trainMs: number;
  /** Wall time of the whole run: data loading, model building, training, evaluation. */
  wallMs: number;
  backend: string | null;
  device: string | null;
  error: string | null;
}

/** The first epoch point that meets the target, or null. */
export function findConvergence(points: readonly EpochPoint[], target: ConvergenceTarget): Convergence | null {
  let trainMs = 0;
  for (const point of points) {
    trainMs += point.wallTimeMs;
    const value = point.validation[target.metric];
    if (value === undefined || !Number.isFinite(value)) continue;
    if (target.goal === 'at-most' ? value <= target.value : value >= target.value) {
      return { epoch: point.epoch, step: point.step, samples: point.samples, trainMs };
    }
  }
  return null;
}

/**
 * Builds a row from the reports rank 0 sent during one run. Samples per epoch come from the
 * epoch's throughput and time (the rank computes one from the other, so this is exact up to
 * rounding) because the last batch of an epoch may be short.
 */
export function rowFromReports(
  head: { label: string; family: string; dataset: string },
  reports: readonly RankReport[],
  target: ConvergenceTarget,
  wallMs: number,
  error: string | null = null,
): ShootoutRow {
  const ready = reports.find((r): r is Extract<RankReport, { kind: 'ready' }> => r.kind === 'ready');
  const completed = reports.find((r): r is Extract<RankReport, { kind: 'completed' }> => r.kind === 'completed');
  const epochs: EpochPoint[] = [];
  let samples = 0;
  for (const r of reports) {
    if (r.kind !== 'epoch') continue;
    samples += Math.round((r.samplesPerSecond * r.wallTimeMs) / 1000);
    epochs.push({ epoch: r.epoch, step: r.step, samples, trainLoss: r.train['loss'] ?? null, validation: r.validation, wallTimeMs: r.wallTimeMs });
  }
  const cancelled = reports.some((r) => r.kind === 'cancelled');
  const diverged = reports.find((r): r is Extract<RankReport, { kind: 'diverged' }> => r.kind === 'diverged');
  const divergedAt = diverged ? `training diverged: the loss became ${diverged.loss} at step ${diverged.step}` : null;
  const problem = error ?? (completed ? null : cancelled ? 'cancelled' : (divergedAt ?? 'the run ended without a result'));
  return {
    ...head,
    params: ready?.paramCount ?? null,
    test: completed?.test ?? {},
    baselines: completed?.baselines ?? {},
    epochs,
    convergence: findConvergence(epochs, target),
    samplesPerSecond: completed ? completed.samplesPerSecond : null,
    steps: completed?.steps ?? epochs.at(-1)?.step ?? 0,
    trainMs: completed?.wallTimeMs ?? epochs.reduce((sum, e) => sum + e.wallTimeMs, 0),
    wallMs,
    backend: ready?.backend ?? null,
    device: ready?.device ?? null,
    error: problem,
  };
}
