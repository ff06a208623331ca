import { Injectable, NotFoundException } from '@nestjs/common';
import { type ExperimentSpec, specDifferences } from '@tfleet/contracts';
import { type ExperimentEntity, ExperimentsRepository } from '@tfleet/persistence';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CompareRun {
  id: string;
  name: string | null;
  status: ExperimentEntity['status'];
  dataset: string;
  family: string;
  boardKey: string;
  spec: ExperimentSpec;
  /** Final test metrics (null until the run completes). */
  metrics: ExperimentEntity['testMetrics'];
}

/** One metric of one split across the runs, aligned by epoch: `values[id][i]` is that run's value at `epochs[i]`. */
export interface CompareCurve {
  split: 'train' | 'validation';
  metric: string;
  epochs: number[];
  values: Record<string, (number | null)[]>;
}

export interface Comparison {
  ids: string[];
  runs: CompareRun[];
  /** Spec paths (defaults filled in) whose values are not the same in every run, sorted. */
  differences: string[];
  /** Each differing path's values, one per run in `ids` order (null where a run's spec lacks the path). */
  differing: Record<string, unknown[]>;
  /** Every other path with the value all runs share. */
  same: Record<string, unknown>;
  /** Whether every run is on one board (otherwise their final metrics measure different things). */
  sameBoard: boolean;
  /** The most epochs a curve keeps. */
  points: number;
  curves: CompareCurve[];
}

/**
 * At most `points` epochs, evenly spread over the sorted `epochs` with the first and the last
 * kept; all of them when there are no more than `points`.
 */
export function downsampleEpochs(epochs: readonly number[], points: number): number[] {
  if (epochs.length <= points) return [...epochs];
  if (points === 1) return [epochs[epochs.length - 1]!];
  const picked = new Set<number>();
  for (let i = 0; i < points; i++) picked.add(epochs[Math.round((i * (epochs.length - 1)) / (points - 1))]!);
  return [...picked];
}

/** Runs side by side: what differs in their specs, their final metrics, and their curves by epoch. */
@Injectable()
export class CompareService {
  constructor(private readonly repository: ExperimentsRepository) {}

  async compare(requested: readonly string[], pointsPerCurve: number): Promise<Comparison> {
    const ids = [...new Set(requested)];
    // The runs and their points at once (PostgreSQL answers both on two connections); the points
    // are dropped unread when an id is unknown.
    const wellFormed = ids.filter((id) => UUID.test(id));
    const [rows, points] = await Promise.all([this.repository.findByIds(wellFormed), this.repository.curvePoints(wellFormed)]);
    const found = new Map(rows.map((e) => [e.id, e]));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw new NotFoundException(`experiment${missing.length > 1 ? 's' : ''} not found: ${missing.join(', ')}`);
    }
    const experiments = ids.map((id) => found.get(id)!);
    const { differences, same, flattened } = specDifferences(experiments.map((e) => e.spec));
    const differing = Object.fromEntries(differences.map((path) => [path, flattened.map((flat) => (path in flat ? flat[path] : null))]));
    return {
      ids,
      runs: experiments.map((e) => ({ id: e.id, name: e.name, status: e.status, dataset: e.datasetName, family: e.modelFamily, boardKey: e.boardKey, spec: e.spec, metrics: e.testMetrics })),
      differences,
      differing,
      same,
      sameBoard: new Set(experiments.map((e) => e.boardKey)).size <= 1,
      points: pointsPerCurve,
      curves: this.curves(ids, points, pointsPerCurve),
    };
  }

  private curves(ids: readonly string[], points: Awaited<ReturnType<ExperimentsRepository['curvePoints']>>, pointsPerCurve: number): CompareCurve[] {
    const byCurve = new Map<string, { split: 'train' | 'validation'; metric: string; byRun: Map<string, Map<number, number>> }>();
    for (const p of points) {
      if (p.split === 'test') continue;
      const key = `${p.split}\u0000${p.name}`;
      const curve = byCurve.get(key) ?? { split: p.split, metric: p.name, byRun: new Map<string, Map<number, number>>() };
      const run = curve.byRun.get(p.experimentId) ?? new Map<number, number>();
      run.set(p.epoch, p.value);
      curve.byRun.set(p.experimentId, run);
      byCurve.set(key, curve);
    }
    return [...byCurve.values()]
      .sort((a, b) => (a.split === b.split ? (a.metric < b.metric ? -1 : 1) : a.split === 'validation' ? -1 : 1))
      .map(({ split, metric, byRun }) => {
        const all = [...new Set([...byRun.values()].flatMap((run) => [...run.keys()]))].sort((a, b) => a - b);
        const epochs = downsampleEpochs(all, pointsPerCurve);
        const values = Object.fromEntries(ids.map((id) => [id, epochs.map((epoch) => byRun.get(id)?.get(epoch) ?? null)]));
        return { split, metric, epochs, values };
      });
  }
}
