import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import type { ExperimentSpec, MetricValues, RuntimeInfo } from '@tfleet/contracts';

export const EXPERIMENT_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];
export const TERMINAL_STATUSES: readonly ExperimentStatus[] = ['completed', 'failed', 'cancelled'];

@Entity('experiments')
@Index('IDX_experiments_dataset_status', ['datasetName', 'status'])
@Index('IDX_experiments_created_at', ['createdAt'])
@Index('IDX_experiments_board_status', ['boardKey', 'status'])
export class ExperimentEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  name!: string | null;

  @Column({ type: 'simple-json' })
  spec!: ExperimentSpec;

  @Column({ type: 'varchar', length: 64 })
  datasetName!: string;

  @Column({ type: 'varchar', length: 32 })
  modelFamily!: string;

  /** The board it is ranked on (see boardOf in @tfleet/contracts); set on insert (the default is never kept). */
  @Column({ type: 'varchar', length: 80, default: '' })
  boardKey!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: ExperimentStatus;

  /** The attempt whose events are being recorded (BullMQ attempts start at 1). */
  @Column({ type: 'integer', default: 0 })
  attempt!: number;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ type: 'simple-json', nullable: true })
  runtime!: RuntimeInfo | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  backend!: string | null;

  @Column({ type: 'integer', nullable: true })
  paramCount!: number | null;

  @Column({ type: 'integer', nullable: true })
  steps!: number | null;

  @Column({ type: 'integer', nullable: true })
  epochsCompleted!: number | null;

  @Column({ type: 'real', nullable: true })
  samplesPerSecond!: number | null;

  @Column({ type: 'real', nullable: true })
  wallTimeMs!: number | null;

  @Column({ type: 'real', nullable: true })
  scalingEfficiency!: number | null;

  @Column({ type: 'simple-json', nullable: true })
  testMetrics!: MetricValues | null;

  @Column({ type: 'simple-json', nullable: true })
  baselines!: MetricValues | null;

  @CreateDateColumn({ type: 'datetime' })
  createdAt!: Date;

  @Column({ type: 'datetime', nullable: true })
  startedAt!: Date | null;

  @Column({ type: 'datetime', nullable: true })
  finishedAt!: Date | null;
}
