import type { ExperimentSpec, MetricValues, RuntimeInfo } from '@tfleet/contracts';

// `pending`: a sweep's trial stored but held back by its maxConcurrent (no job yet).
// `stopped`: a sweep's trial ended early by its early stopping or stopWhen.
export const EXPERIMENT_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'diverged', 'pending', 'stopped'] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];
export const TERMINAL_STATUSES: readonly ExperimentStatus[] = ['completed', 'failed', 'cancelled', 'diverged', 'stopped'];

/** A row of `experiments`; its columns are mapped in ./schemas.ts, per database dialect. */
export class ExperimentEntity {
  id!: string;
  name!: string | null;
  spec!: ExperimentSpec;
  datasetName!: string;
  modelFamily!: string;
  /** The board it is ranked on (see boardOf in @tfleet/contracts); set on insert (the default is never kept). */
  boardKey!: string;
  status!: ExperimentStatus;
  /** The attempt whose events are being recorded (BullMQ attempts start at 1). */
  attempt!: number;
  /** The checkpoint step the current attempt resumed from; null when it started fresh. */
  resumedFromStep!: number | null;
  error!: string | null;
  runtime!: RuntimeInfo | null;
  backend!: string | null;
  paramCount!: number | null;
  steps!: number | null;
  epochsCompleted!: number | null;
  samplesPerSecond!: number | null;
  wallTimeMs!: number | null;
  scalingEfficiency!: number | null;
  testMetrics!: MetricValues | null;
  baselines!: MetricValues | null;
  createdAt!: Date;
  startedAt!: Date | null;
  finishedAt!: Date | null;
  /** Completed runs: whether the final metric is no better than the data set's baseline (null: no baseline applies). */
  belowBaseline!: boolean | null;
  /** Diverged runs: the step whose loss was NaN or infinite, and the last finite loss before it. */
  divergedAtStep!: number | null;
  lastFiniteLoss!: number | null;
  /** The sweep it is a trial of, or null. */
  sweepId!: string | null;
  /** configKeyOf(spec) (groupBy=config), set on insert; null for a legacy spec that no longer parses. */
  configKey!: string | null;
}
