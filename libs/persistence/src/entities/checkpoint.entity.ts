import { Column, Entity, Index, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ExperimentEntity } from './experiment.entity';

export type CheckpointKind = 'periodic' | 'epoch' | 'final';

/** A model saved with tf.io.withSaveHandler, with what is needed to resume training exactly. */
@Entity('checkpoints')
@Index('UQ_checkpoints_step', ['experimentId', 'kind', 'step'], { unique: true })
export class CheckpointEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 36 })
  experimentId!: string;

  @ManyToOne(() => ExperimentEntity, { onDelete: 'CASCADE' })
  experiment?: ExperimentEntity;

  @Column({ type: 'varchar', length: 16 })
  kind!: CheckpointKind;

  @Column({ type: 'integer' })
  step!: number;

  @Column({ type: 'integer' })
  epoch!: number;

  @Column({ type: 'simple-json' })
  modelTopology!: Record<string, unknown>;

  @Column({ type: 'simple-json' })
  weightSpecs!: { name: string; shape: number[]; dtype: 'float32' | 'int32' | 'bool' }[];

  @Column({ type: 'blob' })
  weights!: Buffer;

  @Column({ type: 'simple-json', nullable: true })
  optimizerSpecs!: { name: string; shape: number[] }[] | null;

  @Column({ type: 'blob', nullable: true })
  optimizerWeights!: Buffer | null;

  @Column({ type: 'simple-json' })
  state!: Record<string, unknown>;

  @Column({ type: 'integer' })
  sizeBytes!: number;

  @Column({ type: 'datetime' })
  createdAt!: Date;
}
