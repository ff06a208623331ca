import * as tf from '@tensorflow/tfjs';
import type { SerializedModel } from '@tfleet/contracts';
import { tinyTaskInfo } from '@tfleet/testing';
import { buildModel } from '../models/build-model';
import type { CnnSpec } from '../models/cnn';
import { restoreModelWeights } from './checkpoint';

const block = { filters: 4, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu', pool: 'max', poolSize: 2, batchNorm: false, dropout: 0 } as const;
const spec: CnnSpec = { family: 'cnn', blocks: [block, { ...block, filters: 6 }], denseUnits: [8], dropout: 0, embeddingDim: 6 };

/** A checkpoint of `model`'s weights as it would be stored, each shape passed through `shapeOf`. */
function checkpointOf(model: tf.LayersModel, shapeOf: (shape: number[]) => number[]): SerializedModel {
  const values = model.getWeights().map((w) => w.dataSync() as Float32Array);
  const flat = new Float32Array(values.reduce((n, v) => n + v.length, 0));
  let offset = 0;
  for (const v of values) {
    flat.set(v, offset);
    offset += v.length;
  }
  return {
    modelTopology: {},
    weightSpecs: model.weights.map((w) => ({ name: w.name, shape: shapeOf([...w.shape] as number[]), dtype: 'float32' as const })),
    weightDataBase64: Buffer.from(flat.buffer).toString('base64'),
  };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('restoreModelWeights', () => {
  it('loads a 1-D CNN checkpoint saved with Conv1D kernel shapes ([k, in, out]) into the one-column 2-D convolutions', () => {
    const info = tinyTaskInfo('sequence-classification');
    const trained = buildModel(spec, info, 7);
    const kernels = trained.weights.filter((w) => w.shape.length === 4).map((w) => w.shape);
    // The builder makes [k, 1, in, out] kernels for a sequence task; the checkpoint drops the 1.
    expect(kernels.length).toBe(2);
    expect(kernels.every((s) => s[1] === 1)).toBe(true);
    const legacy = checkpointOf(trained, (shape) => (shape.length === 4 && shape[1] === 1 ? [shape[0]!, shape[2]!, shape[3]!] : shape));
    expect(legacy.weightSpecs.filter((s) => s.shape.length === 3).length).toBe(2);

    const fresh = buildModel(spec, info, 99);
    const before = tf.memory().numTensors;
    restoreModelWeights(fresh, legacy);
    expect(tf.memory().numTensors).toBe(before);
    const got = fresh.getWeights().map((w) => Array.from(w.dataSync()));
    const want = trained.getWeights().map((w) => Array.from(w.dataSync()));
    expect(got).toEqual(want);
    const input = tf.randomUniform([3, ...info.inputSpecs[0]!.shape], 0, 20, 'int32');
    const difference = tf.tidy(() => tf.sub(fresh.predict(input) as tf.Tensor, trained.predict(input) as tf.Tensor).abs().max().dataSync()[0]!);
    expect(difference).toBe(0);
    tf.dispose(input);
    trained.dispose();
    fresh.dispose();
  });

  it('refuses a weight whose shape differs by more than size-1 dimensions, naming it', () => {
    const info = tinyTaskInfo('sequence-classification');
    const model = buildModel(spec, info, 7);
    const wrong = checkpointOf(model, (shape) => (shape.length === 4 ? [shape[0]! * shape[2]!, 1, 1, shape[3]!] : shape));
    const before = tf.memory().numTensors;
    expect(() => restoreModelWeights(model, wrong)).toThrow(/checkpoint weight 0 \(.+\) has shape 9x1x1x4, model expects 3x1x3x4|has shape .+, model expects/);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
