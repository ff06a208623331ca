import * as tf from '@tensorflow/tfjs';
import type { TaskKind } from '@tfleet/contracts';
import { buildModel } from './build-model';
import { buildCnn, type CnnSpec } from './cnn';
import { expectedOutputShape, standardChecks, tinyTaskInfo } from '@tfleet/testing';

const block = { filters: 4, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu', pool: 'max', poolSize: 2, batchNorm: false, dropout: 0 } as const;

function tinySpec(overrides: Partial<Omit<CnnSpec, 'family'>> = {}): CnnSpec {
  return { family: 'cnn', blocks: [block, { ...block, filters: 6 }], denseUnits: [8], dropout: 0, embeddingDim: 6, ...overrides };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const cases: Array<[TaskKind, Partial<Omit<CnnSpec, 'family'>>]> = [
  ['image-classification', {}],
  ['image-classification', { blocks: [], denseUnits: [16] }],
  ['image-classification', { blocks: [{ ...block, batchNorm: true, pool: 'avg', padding: 'same', dropout: 0.1 }], dropout: 0.2 }],
  ['sequence-classification', {}],
  ['sequence-regression', { blocks: [{ ...block, activation: 'tanh' }] }],
];

describe.each(cases)('cnn on %s %j', (task, overrides) => {
  it('builds the right output shape, trains, round-trips through save/load and leaks nothing', async () => {
    const info = tinyTaskInfo(task);
    const model = buildModel(tinySpec(overrides), info, 7);
    const result = await standardChecks(model, info);
    expect(result.outputShape).toEqual(expectedOutputShape(info, 4));
    expect(result.losses[result.losses.length - 1]).toBeLessThan(result.losses[0] * 0.95);
    expect(result.roundTripDifference).toBeLessThan(1e-5);
    expect(result.leakedTensors).toBe(0);
    model.dispose();
  });
});

describe('cnn', () => {
  it('does not fit language modelling or seq2seq, naming the families that do', () => {
    expect(() => buildModel(tinySpec(), tinyTaskInfo('language-modelling'), 1)).toThrow(/families that fit: simple-rnn, lstm, gru, transformer, bert/);
    expect(() => buildModel(tinySpec(), tinyTaskInfo('seq2seq'), 1)).toThrow(/families that fit/);
  });
});

describe('cnn over sequences', () => {
  it('computes what Conv1D, MaxPooling1D and GlobalMaxPooling1D compute with the same weights (it runs them as one-column 2-D layers)', () => {
    const info = tinyTaskInfo('sequence-regression');
    const spec = tinySpec({ blocks: [{ ...block, padding: 'same' }, { ...block, filters: 6, strides: 2 }], denseUnits: [8] });
    const model = buildCnn(spec, info, 11);
    const [steps, features] = info.inputSpecs[0].shape as [number, number];
    const weights = model.getWeights();
    // The reference: the layers the builder used before (tfjs-layers' 1-D classes).
    const input = tf.input({ shape: [steps, features] });
    let x: tf.SymbolicTensor = input;
    for (const b of spec.blocks) {
      x = tf.layers.conv1d({ filters: b.filters, kernelSize: b.kernelSize, strides: b.strides, padding: b.padding }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.activation({ activation: b.activation }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.maxPooling1d({ poolSize: b.poolSize, strides: b.poolSize, padding: 'valid' }).apply(x) as tf.SymbolicTensor;
    }
    x = tf.layers.globalMaxPooling1d({}).apply(x) as tf.SymbolicTensor;
    x = tf.layers.dense({ units: 8, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
    const reference = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1 }).apply(x) as tf.SymbolicTensor });
    const referenceShapes = reference.getWeights().map((w) => w.shape);
    tf.tidy(() => {
      reference.setWeights(weights.map((w, i) => w.reshape(referenceShapes[i])));
      const data = tf.randomNormal([5, steps, features], 0, 1, 'float32', 3);
      const got = model.predict(data) as tf.Tensor;
      const want = reference.predict(data) as tf.Tensor;
      expect(got.shape).toEqual(want.shape);
      expect(tf.max(tf.abs(got.sub(want))).dataSync()[0]).toBeLessThan(1e-5);
      expect(tf.max(tf.abs(want)).dataSync()[0]).toBeGreaterThan(1e-3);
    });
    model.dispose();
    reference.dispose();
  });
});
