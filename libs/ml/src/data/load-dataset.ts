import type { DatasetSpec } from '@tfleet/contracts';
import { loadAdding } from './adding';
import { loadBrown } from './brown';
import { loadCmudict } from './cmudict';
import { loadCopy } from './copy';
import type { TaskData } from './dataset';
import { loadMnist } from './mnist';
import { loadSpamAssassin } from './spam-assassin';
import { loadSyntheticImages } from './synthetic-images';
import type { VocabularyJSON } from './tokenizer';

export interface LoadDatasetOptions {
  /**
   * A vocabulary saved with a pretrained model (its `artifacts.tokenizer.vocabulary`), used
   * instead of building one, so fine-tuning sees the pretraining ids. spam-assassin only.
   */
  vocabulary?: VocabularyJSON;
}

/** Loads (or generates) a data set's three fixed splits; deterministic for a spec. */
export function loadDataset(spec: DatasetSpec, options: LoadDatasetOptions = {}): TaskData {
  switch (spec.name) {
    case 'mnist':
      return loadMnist(spec);
    case 'synthetic-images':
      return loadSyntheticImages(spec);
    case 'brown':
      return loadBrown(spec);
    case 'cmudict':
      return loadCmudict(spec);
    case 'adding':
      return loadAdding(spec);
    case 'copy':
      return loadCopy(spec);
    case 'spam-assassin':
      return loadSpamAssassin(spec, options);
    default: {
      const unknown: never = spec;
      throw new Error(`dataset '${(unknown as { name: string }).name}' is not available in this build`);
    }
  }
}
