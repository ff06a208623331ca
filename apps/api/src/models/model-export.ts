import type { CheckpointPayload } from '@tfleet/contracts';

/** The weights file model.json names; served beside it, so the path is relative. */
export const WEIGHTS_FILE = 'weights.bin';

/**
 * Project layers whose inference is a stock tfjs-layers class with the same config and
 * weights: the fused LSTM, GRU and layer norm compute what tfjs-layers does, and the seeded
 * dropout is the identity outside training, as stock dropout is.
 */
const STOCK_EQUIVALENTS: Readonly<Record<string, string>> = {
  TfleetDropout: 'Dropout',
  TfleetFusedLSTM: 'LSTM',
  TfleetFusedGRU: 'GRU',
  TfleetFusedSimpleRNN: 'SimpleRNN',
  TfleetFusedLayerNormalization: 'LayerNormalization',
  TfleetBidirectional: 'Bidirectional',
};

const PROJECT_PREFIX = 'Tfleet';

export interface ExportedTopology {
  topology: Record<string, unknown>;
  /** Project classes left in the topology: stock tfjs cannot load it while any remain. */
  customClasses: string[];
}

/**
 * The saved topology rewritten for stock TensorFlow.js: layers with a stock equivalent take
 * its class name, and project initialisers (which only draw starting weights, replaced by the
 * saved ones on load) become `Zeros`. What has no stock equivalent (attention, position
 * encodings, masked pooling, the seq2seq state plumbing) stays, and is listed.
 */
export function stockTopology(topology: Record<string, unknown>): ExportedTopology {
  const custom = new Set<string>();
  const rewrite = (value: unknown, key: string | null): unknown => {
    if (Array.isArray(value)) return value.map((v) => rewrite(v, null));
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const className = (value as Record<string, unknown>)['class_name'];
    if (typeof className === 'string' && className.startsWith(PROJECT_PREFIX)) {
      if (key !== null && key.endsWith('_initializer')) return { class_name: 'Zeros', config: {} };
      const stock = STOCK_EQUIVALENTS[className];
      if (stock === undefined) custom.add(className);
      else return Object.fromEntries(entries.map(([k, v]) => [k, k === 'class_name' ? stock : rewrite(v, k)]));
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, rewrite(v, k)]));
  };
  const rewritten = rewrite(topology, null) as Record<string, unknown>;
  return { topology: rewritten, customClasses: [...custom].sort() };
}

export interface ModelExport {
  /** model.json as `tf.loadLayersModel` reads it over HTTP. */
  modelJson: Record<string, unknown>;
  weights: Buffer;
  loadsInStockTfjs: boolean;
  customClasses: string[];
}

/**
 * model.json and its one weights file from a final checkpoint. `userDefinedMetadata.tfleet`
 * says whether stock tfjs loads it; where it does not, the classes it would need are named.
 */
export function exportModel(experimentId: string, family: string, checkpoint: CheckpointPayload): ModelExport {
  const { topology, customClasses } = stockTopology(checkpoint.model.modelTopology);
  const loadsInStockTfjs = customClasses.length === 0;
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: 'tfleet',
      convertedBy: null,
      modelTopology: topology,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: checkpoint.model.weightSpecs }],
      userDefinedMetadata: {
        tfleet: {
          experimentId,
          family,
          step: checkpoint.step,
          epoch: checkpoint.epoch,
          loadsInStockTfjs,
          customClasses,
          ...(loadsInStockTfjs
            ? {}
            : { note: `stock TensorFlow.js cannot load this model: it needs the project's layer classes ${customClasses.join(', ')} (registered by importing @tfleet/ml); POST /predict serves it` }),
        },
      },
    },
    weights: Buffer.from(checkpoint.model.weightDataBase64, 'base64'),
    loadsInStockTfjs,
    customClasses,
  };
}
