import type { ExperimentEntity, SweepEntity, TrialPoint } from '@tfleet/persistence';
import { better, type SweepRequest, type TrialPlan } from '@tfleet/sweeps';

export interface TrialView {
  id: string;
  index: number;
  config: number;
  seed: number;
  assignment: Record<string, unknown>;
  status: ExperimentEntity['status'] | 'missing';
  /** Epochs recorded so far. */
  epochs: number;
  /** The sweep's metric at the last recorded epoch (validation, else train). */
  metric: number | null;
  /** The final test value of the sweep's metric, once completed. */
  test: number | null;
  /** Early stopping: the rung (0-based), epoch, value and cutoff that stopped it. */
  stop: SweepEntity['stops'][string] | null;
  error: string | null;
}

export interface SweepSummaryView {
  id: string;
  name: string | null;
  kind: string;
  status: SweepEntity['status'];
  method: SweepRequest['method'];
  createdAt: string;
  finishedAt: string | null;
}

export const toSweepSummary = (sweep: SweepEntity, request: SweepRequest): SweepSummaryView => ({
  id: sweep.id,
  name: sweep.name,
  kind: sweep.kind,
  status: sweep.status,
  method: request.method,
  createdAt: sweep.createdAt.toISOString(),
  finishedAt: sweep.finishedAt ? sweep.finishedAt.toISOString() : null,
});

/** The metric a sweep ranks its trials by: its objective, else early stopping's, else stopWhen's, else the loss (lower is better). */
export function sweepMetric(request: SweepRequest): { name: string; mode: 'min' | 'max' } {
  const source = request.objective ?? request.earlyStopping ?? request.stopWhen;
  return source ? { name: source.metric, mode: source.mode } : { name: 'loss', mode: 'min' };
}

/**
 * A sweep with its trials in plan order: status, epochs, the metric, why it stopped; counts by
 * status; epochs spent over all trials; the best completed trial by the final test value.
 */
export function toSweepView(input: { sweep: SweepEntity; request: SweepRequest; plan: TrialPlan[]; trials: ExperimentEntity[]; epochs: Map<string, number>; points: TrialPoint[] }) {
  const { sweep, request, plan, trials, epochs, points } = input;
  const metric = sweepMetric(request);
  const rows = new Map(trials.map((t) => [t.id, t]));
  const last = new Map<string, { epoch: number; value: number; validation: boolean }>();
  for (const p of points) {
    const seen = last.get(p.experimentId);
    const validation = p.split === 'validation';
    if (!seen || p.epoch > seen.epoch || (p.epoch === seen.epoch && validation && !seen.validation)) last.set(p.experimentId, { epoch: p.epoch, value: p.value, validation });
  }
  const views: TrialView[] = plan.map((t) => {
    const row = rows.get(t.id);
    return {
      id: t.id,
      index: t.index,
      config: t.config,
      seed: t.seed,
      assignment: t.assignment,
      status: row?.status ?? 'missing',
      epochs: epochs.get(t.id) ?? 0,
      metric: last.get(t.id)?.value ?? null,
      test: row?.testMetrics?.[metric.name] ?? null,
      stop: sweep.stops[t.id] ?? null,
      error: row?.error ?? null,
    };
  });
  const counts: Record<string, number> = {};
  for (const v of views) counts[v.status] = (counts[v.status] ?? 0) + 1;
  let best: TrialView | null = null;
  for (const v of views) if (v.status === 'completed' && better(metric.mode, v.test ?? undefined, best?.test ?? undefined)) best = v;
  return {
    ...toSweepSummary(sweep, request),
    request,
    metric,
    trials: views,
    counts,
    epochsSpent: views.reduce((sum, v) => sum + v.epochs, 0),
    best: best ? { id: best.id, assignment: best.assignment, seed: best.seed, test: best.test } : null,
    stoppedBy: sweep.stoppedBy,
  };
}
