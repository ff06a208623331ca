import type { ExperimentEntity } from './experiment.entity';

export type CheckpointKind = 'periodic' | 'epoch' | 'final';

/** A model saved with tf.io.withSaveHandler, with what is needed to resume training exactly. Mapped in ./schemas.ts. */
export class CheckpointEntity {
  id!: number;
  experimentId!: string;
  experiment?: ExperimentEntity;
  kind!: CheckpointKind;
  step!: number;
  epoch!: number;
  modelTopology!: Record<string, unknown>;
  weightSpecs!: { name: string; shape: number[]; dtype: 'float32' | 'int32' | 'bool' }[];
  weights!: Buffer;
  optimizerSpecs!: { name: string; shape: number[] }[] | null;
  optimizerWeights!: Buffer | null;
  state!: Record<string, unknown>;
  sizeBytes!: number;
  createdAt!: Date;
}
