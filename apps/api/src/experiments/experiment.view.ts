import { type BaselineComparison, compareWithBaseline, type TrainingProgress } from '@tfleet/contracts';
import type { ExperimentEntity, MetricEntity } from '@tfleet/persistence';

/** What the queue and the database know of an experiment's scheduling (GET /api/experiments/:id only). */
export interface QueueFacts {
  /** The job's state in the queue; null when the job is gone (removed after it finished) or Redis did not answer. */
  state: string | null;
  /** Executions of the job so far, stalls included (numbered by the workers). */
  attempts: number;
  /** Executions that failed (BullMQ's attemptsMade); null when the queue did not say. */
  failedAttempts: number | null;
  /** Times a worker lost the job's lock (died, hung) and the job was handed back; null when the queue did not say. */
  stalls: number | null;
  /** From submission to the current attempt's start (or to now, or to its end if it never started). */
  waitingMs: number;
  /** From the current attempt's start to the end (or now); null before it starts. */
  trainingMs: number | null;
  /** The worker that runs (or ran) the current attempt. */
  worker: string | null;
}

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
  /** The checkpoint step the current attempt resumed from; null when it started fresh. */
  resumedFromStep: number | null;
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
  boardKey: string;
  /** Completed runs: true when the final metric is no better than the data set's baseline (null: none applies). */
  belowBaseline: boolean | null;
  /** The comparison behind `belowBaseline`: which metric, its value, which baseline and its value. */
  baseline: BaselineComparison | null;
  /** Diverged runs: where the loss stopped being finite, and the last finite loss (else null). */
  divergence: { step: number; lastFiniteLoss: number | null } | null;
  /** The sweep it is a trial of, or null. */
  sweepId: string | null;
  queue?: QueueFacts;
}

/** Scheduling facts from the row and, when Redis answered, the job. */
export function queueFacts(e: ExperimentEntity, job: { state: string; attemptsMade: number; stalledCounter: number } | null, now = Date.now()): QueueFacts {
  const created = e.createdAt.getTime();
  const started = e.startedAt?.getTime() ?? null;
  const finished = e.finishedAt?.getTime() ?? null;
  return {
    state: job?.state ?? null,
    attempts: e.attempt,
    // BullMQ's attemptsMade counts finished attempts, the successful one included.
    failedAttempts: job === null ? null : Math.max(0, job.attemptsMade - (job.state === 'completed' ? 1 : 0)),
    stalls: job?.stalledCounter ?? null,
    waitingMs: Math.max(0, (started ?? finished ?? now) - created),
    trainingMs: started === null ? null : Math.max(0, (finished ?? now) - started),
    worker: e.runtime?.workerId ?? null,
  };
}

export function toExperimentView(e: ExperimentEntity, progress: TrainingProgress | null = null, queue?: QueueFacts): ExperimentView {
  return {
    id: e.id,
    name: e.name,
    status: e.status,
    dataset: e.datasetName,
    family: e.modelFamily,
    spec: e.spec,
    progress,
    attempt: e.attempt,
    resumedFromStep: e.resumedFromStep ?? null,
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
    boardKey: e.boardKey,
    belowBaseline: e.belowBaseline,
    baseline: e.status === 'completed' ? compareWithBaseline(e.testMetrics, e.baselines) : null,
    divergence: e.divergedAtStep === null ? null : { step: e.divergedAtStep, lastFiniteLoss: e.lastFiniteLoss },
    sweepId: e.sweepId ?? null,
    ...(queue ? { queue } : {}),
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
