import { Column, Entity, Index, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ExperimentEntity } from './experiment.entity';

export type MetricSplit = 'train' | 'validation' | 'test';

/** One metric value of one experiment at one epoch (epoch 0 with split 'test' is final). */
@Entity('experiment_metrics')
@Index('UQ_experiment_metrics_point', ['experimentId', 'epoch', 'split', 'name'], { unique: true })
export class MetricEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 36 })
  experimentId!: string;

  @ManyToOne(() => ExperimentEntity, { onDelete: 'CASCADE' })
  experiment?: ExperimentEntity;

  @Column({ type: 'integer' })
  epoch!: number;

  @Column({ type: 'integer' })
  step!: number;

  /** The attempt (execution of the job) that measured this point. */
  @Column({ type: 'integer', default: 1 })
  attempt!: number;

  @Column({ type: 'varchar', length: 16 })
  split!: MetricSplit;

  @Column({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'real' })
  value!: number;

  @Column({ type: 'datetime' })
  recordedAt!: Date;
}
