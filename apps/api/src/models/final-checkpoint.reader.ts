import { Injectable } from '@nestjs/common';
import type { CheckpointPayload } from '@tfleet/contracts';
import { ExperimentsRepository } from '@tfleet/persistence';

/**
 * The one place the models module reads stored weights: an experiment's final checkpoint
 * (null when it has none). Export and prediction never touch the checkpoint storage otherwise,
 * so moving checkpoints to another store changes this class alone.
 */
@Injectable()
export class FinalCheckpointReader {
  constructor(private readonly repository: ExperimentsRepository) {}

  async read(experimentId: string): Promise<CheckpointPayload | null> {
    const row = await this.repository.latestCheckpoint(experimentId, 'final');
    if (!row) return null;
    return {
      step: row.step,
      epoch: row.epoch,
      kind: row.kind,
      model: { modelTopology: row.modelTopology, weightSpecs: row.weightSpecs, weightDataBase64: row.weights.toString('base64') },
      ...(row.optimizerSpecs && row.optimizerWeights
        ? { optimizer: { weightSpecs: row.optimizerSpecs, weightDataBase64: row.optimizerWeights.toString('base64') } }
        : {}),
      state: row.state,
    };
  }
}
