import type { ExperimentEntity } from './experiment.entity';

export type CheckpointKind = 'periodic' | 'epoch' | 'final';

/**
 * A checkpoint the API knows of: its place in the checkpoint store (`ref`, see @tfleet/artifacts)
 * and what it is. The weights, optimizer state and cursor live in the store, never in the
 * database. Mapped in ./schemas.ts.
 */
export class CheckpointEntity {
  id!: number;
  experimentId!: string;
  experiment?: ExperimentEntity;
  kind!: CheckpointKind;
  step!: number;
  epoch!: number;
  /** Where the store keeps it: `<experimentId>/<step>-<kind>-<attempt>`. */
  ref!: string;
  sizeBytes!: number;
  /** The validation value of the spec's keepCheckpoints.metric at this epoch (epoch checkpoints), for keeping the best. */
  metricValue!: number | null;
  createdAt!: Date;
}
