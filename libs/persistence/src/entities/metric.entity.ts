import type { ExperimentEntity } from './experiment.entity';

export type MetricSplit = 'train' | 'validation' | 'test';

/** One metric value of one experiment at one epoch (epoch 0 with split 'test' is final). Mapped in ./schemas.ts. */
export class MetricEntity {
  id!: number;
  experimentId!: string;
  experiment?: ExperimentEntity;
  epoch!: number;
  step!: number;
  /** The attempt (execution of the job) that measured this point. */
  attempt!: number;
  split!: MetricSplit;
  name!: string;
  value!: number;
  recordedAt!: Date;
}
