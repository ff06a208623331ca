import type { ExperimentSpec, MetricValues, RuntimeInfo } from '@tfleet/contracts';

export const EXPERIMENT_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];
export const TERMINAL_STATUSES: readonly ExperimentStatus[] = ['completed', 'failed', 'cancelled'];

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
  /** configKeyOf(spec) (groupBy=config), set on insert; null for a legacy spec that no longer parses. */
  configKey!: string | null;
}
