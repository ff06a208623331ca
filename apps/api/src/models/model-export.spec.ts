import * as tf from '@tensorflow/tfjs';
import { type CheckpointPayload, parseExperimentSpec } from '@tfleet/contracts';
import { buildModel, initBackend, loadDataset } from '@tfleet/ml';
import { exportModel, stockTopology, WEIGHTS_FILE } from './model-export';

async function saved(model: tf.LayersModel): Promise<CheckpointPayload['model']> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const weights = new tf.io.CompositeArrayBuffer(artifacts!.weightData!).slice();
  return {
    modelTopology: artifacts!.modelTopology as Record<string, unknown>,
    weightSpecs: artifacts!.weightSpecs!.map((s) => ({ name: s.name, shape: [...s.shape], dtype: s.dtype as 'float32' })),
    weightDataBase64: Buffer.from(weights).toString('base64'),
  };
}

function built(input: unknown): tf.LayersModel {
  const parsed = parseExperimentSpec(input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return buildModel(parsed.value.model, loadDataset(parsed.value.dataset), 7);
}

/** A deterministic batch of two samples for the model's first input. */
function sampleInput(model: tf.LayersModel): tf.Tensor {
  // An open length (BERT's input) takes the test specs' sequence length, 6.
  const shape = [2, ...model.inputs[0]!.shape.slice(1).map((d) => d ?? 6)];
  const size = shape.reduce((a, b) => a * b, 1);
  return model.inputs[0]!.dtype === 'int32'
    ? tf.tensor(Int32Array.from({ length: size }, (_, i) => 5 + (i % 11)), shape, 'int32')
    : tf.tensor(Float32Array.from({ length: size }, (_, i) => ((i * 7) % 13) / 13), shape, 'float32');
}

describe('model export for stock TensorFlow.js', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  // Every project class a family uses once its stock equivalents are substituted.
  it.each([
    ['cnn on mnist (seeded dropout)', { dataset: { name: 'mnist', samples: 100 }, model: { family: 'cnn', blocks: [{ filters: 4, dropout: 0.2 }], denseUnits: [8], dropout: 0.3 } }, []],
    ['lstm on adding (fused LSTM, orthogonal init)', { dataset: { name: 'adding', samples: 100, sequenceLength: 6 }, model: { family: 'lstm', units: 8 } }, []],
    ['gru on adding', { dataset: { name: 'adding', samples: 100, sequenceLength: 6 }, model: { family: 'gru', units: 8 } }, []],
    ['simple-rnn on adding', { dataset: { name: 'adding', samples: 100, sequenceLength: 6 }, model: { family: 'simple-rnn', units: 8 } }, []],
    ['lstm on brown', { dataset: { name: 'brown', maxTokens: 2000, vocabSize: 100, sequenceLength: 6 }, model: { family: 'lstm', units: 8, embeddingDim: 8, dropout: 0.1 } }, []],
    ['cnn on adding (1-D convolution)', { dataset: { name: 'adding', samples: 100, sequenceLength: 6 }, model: { family: 'cnn', blocks: [{ filters: 4, kernelSize: 2, pool: 'none' }], denseUnits: [4] } }, []],
    ['transformer on adding', { dataset: { name: 'adding', samples: 100, sequenceLength: 6 }, model: { family: 'transformer', dModel: 8, heads: 2, ffDim: 8, encoderLayers: 1, decoderLayers: 0 } }, null],
    ['bert on brown', { dataset: { name: 'brown', maxTokens: 2000, vocabSize: 100, sequenceLength: 6 }, model: { family: 'bert', dModel: 8, heads: 2, ffDim: 8, layers: 1 } }, null],
  ] as const)('%s', async (_name, spec, expectedCustom) => {
    const model = built(spec);
    const checkpointModel = await saved(model);
    const { topology, customClasses } = stockTopology(checkpointModel.modelTopology);
    if (expectedCustom === null) {
      // No stock equivalent: the export must say so rather than pretend.
      expect(customClasses).toEqual(expect.arrayContaining(['TfleetMultiHeadAttention']));
      const exported = exportModel('id', 'f', { step: 1, epoch: 1, kind: 'final', model: checkpointModel, state: {} });
      expect(exported.loadsInStockTfjs).toBe(false);
      expect(JSON.stringify(exported.modelJson['userDefinedMetadata'])).toContain('stock TensorFlow.js cannot load this model');
    } else {
      expect(customClasses).toEqual(expectedCustom);
      expect(JSON.stringify(topology)).not.toMatch(/"class_name":"Tfleet/);
    }
    // The exported topology with the saved weights computes what the trained model computes
    // (stock classes only, or with the project's classes registered, as in this process).
    const loaded = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: topology, weightSpecs: checkpointModel.weightSpecs, weightData: new Uint8Array(Buffer.from(checkpointModel.weightDataBase64, 'base64')).buffer }),
    );
    const input = sampleInput(model);
    const expected = (model.predict(input) as tf.Tensor).dataSync();
    const got = (loaded.predict(input) as tf.Tensor).dataSync();
    expect(got.length).toBe(expected.length);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    tf.dispose([input]);
    model.dispose();
    loaded.dispose();
  });

  it('a bidirectional seq2seq encoder (TfleetBidirectional, the memoised wrapper) exports as stock Bidirectional', async () => {
    const model = built({ dataset: { name: 'copy', samples: 200, sequenceLength: 3, delay: 2, symbols: 4 }, model: { family: 'lstm', units: 8, embeddingDim: 8, bidirectional: true, attention: false } });
    const checkpointModel = await saved(model);
    expect(JSON.stringify(checkpointModel.modelTopology)).toContain('"class_name":"TfleetBidirectional"');
    const { topology, customClasses } = stockTopology(checkpointModel.modelTopology);
    expect(customClasses).not.toContain('TfleetBidirectional');
    expect(JSON.stringify(topology)).toContain('"class_name":"Bidirectional"');
    model.dispose();
  });

  it('model.json names its weights file relative to itself, with the saved weight specs', () => {
    const weightSpecs = [{ name: 'dense/kernel', shape: [2, 1], dtype: 'float32' as const }];
    const exported = exportModel('e1', 'cnn', {
      step: 9,
      epoch: 1,
      kind: 'final',
      model: { modelTopology: { class_name: 'Model', config: {} }, weightSpecs, weightDataBase64: Buffer.from(new Float32Array([1, 2]).buffer).toString('base64') },
      state: {},
    });
    expect(exported.modelJson).toMatchObject({ format: 'layers-model', weightsManifest: [{ paths: [WEIGHTS_FILE], weights: weightSpecs }] });
    expect(exported.modelJson['userDefinedMetadata']).toEqual({ tfleet: { experimentId: 'e1', family: 'cnn', step: 9, epoch: 1, loadsInStockTfjs: true, customClasses: [] } });
    expect(Array.from(new Float32Array(new Uint8Array(exported.weights).buffer))).toEqual([1, 2]);
  });

  it('replaces project initialisers anywhere in the topology, and leaves stock ones', () => {
    const { topology } = stockTopology({
      layers: [{ class_name: 'Dense', config: { kernel_initializer: { class_name: 'TfleetSeededOrthogonal', config: { seed: 1 } }, bias_initializer: { class_name: 'Zeros', config: {} } } }],
    });
    expect(topology).toEqual({ layers: [{ class_name: 'Dense', config: { kernel_initializer: { class_name: 'Zeros', config: {} }, bias_initializer: { class_name: 'Zeros', config: {} } } }] });
  });
});
