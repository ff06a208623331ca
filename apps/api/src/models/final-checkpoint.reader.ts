import { ConflictException, Injectable } from '@nestjs/common';
import { CheckpointStore, CheckpointStoreError } from '@tfleet/artifacts';
import type { CheckpointPayload } from '@tfleet/contracts';
import { ExperimentsRepository } from '@tfleet/persistence';

/**
 * The one place the models module reads stored weights: an experiment's final checkpoint
 * (null when it has none). The database row holds only the checkpoint's reference; the
 * weights, optimizer state and task artefacts are read from the checkpoint store.
 */
@Injectable()
export class FinalCheckpointReader {
  constructor(
    private readonly repository: ExperimentsRepository,
    private readonly store: CheckpointStore,
  ) {}

  async read(experimentId: string): Promise<CheckpointPayload | null> {
    const row = await this.repository.latestCheckpoint(experimentId, 'final');
    if (!row) return null;
    try {
      return await this.store.readCheckpoint(row.ref);
    } catch (error) {
      // A row whose file is gone or damaged (a store wiped or not shared with this API):
      // say so instead of a 500; there is nothing to export from it.
      if (error instanceof CheckpointStoreError) throw new ConflictException(`the final model of experiment ${experimentId} cannot be read: ${error.message}`);
      throw error;
    }
  }
}
