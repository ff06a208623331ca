import type { TrainingProgress } from '@tfleet/contracts';
import type { ExperimentEntity, MetricEntity } from '@tfleet/persistence';

/** The JSON shape of one experiment in API responses. */
export interface ExperimentView {
  id: string;
  name: string | null;
  status: ExperimentEntity['status'];
  dataset: string;
  family: string;
  spec: ExperimentEntity['spec'];
  progress: TrainingProgress | null;
  attempt: number;
  runtime: ExperimentEntity['runtime'];
  paramCount: number | null;
  metrics: ExperimentEntity['testMetrics'];
  baselines: ExperimentEntity['baselines'];
  steps: number | null;
  epochs: number | null;
  samplesPerSecond: number | null;
  wallTimeMs: number | null;
  scalingEfficiency: number | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export function toExperimentView(e: ExperimentEntity, progress: TrainingProgress | null = null): ExperimentView {
  return {
    id: e.id,
    name: e.name,
    status: e.status,
    dataset: e.datasetName,
    family: e.modelFamily,
    spec: e.spec,
    progress,
    attempt: e.attempt,
    runtime: e.runtime,
    paramCount: e.paramCount,
    metrics: e.testMetrics,
    baselines: e.baselines,
    steps: e.steps,
    epochs: e.epochsCompleted,
    samplesPerSecond: e.samplesPerSecond,
    wallTimeMs: e.wallTimeMs,
    scalingEfficiency: e.scalingEfficiency,
    error: e.error,
    createdAt: e.createdAt.toISOString(),
    startedAt: e.startedAt?.toISOString() ?? null,
    finishedAt: e.finishedAt?.toISOString() ?? null,
  };
}

export interface MetricHistoryView {
  experimentId: string;
  /** One entry per epoch: the step it ended at and its metrics by split. */
  epochs: { epoch: number; step: number; attempt: number; train: Record<string, number>; validation: Record<string, number> }[];
  /** Final metrics on the test split. */
  test: Record<string, number>;
}

export function toMetricHistoryView(experimentId: string, points: MetricEntity[]): MetricHistoryView {
  const epochs = new Map<number, MetricHistoryView['epochs'][number]>();
  const test: Record<string, number> = {};
  for (const p of points) {
    if (p.split === 'test') {
      test[p.name] = p.value;
      continue;
    }
    const entry = epochs.get(p.epoch) ?? { epoch: p.epoch, step: p.step, attempt: p.attempt, train: {}, validation: {} };
    entry[p.split][p.name] = p.value;
    epochs.set(p.epoch, entry);
  }
  return { experimentId, epochs: [...epochs.values()].sort((a, b) => a.epoch - b.epoch), test };
}
