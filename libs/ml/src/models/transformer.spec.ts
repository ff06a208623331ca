import * as tf from '@tensorflow/tfjs';
import type { TaskKind } from '@tfleet/contracts';
import { buildModel } from './build-model';
import { disposeBatch, expectedOutputShape, randomBatch, standardChecks, taskLoss, tinyTaskInfo } from '@tfleet/testing';
import { initBackend } from '../backend/backend';
import type { TransformerSpec } from './transformer';

function tinySpec(overrides: Partial<Omit<TransformerSpec, 'family'>> = {}): TransformerSpec {
  return {
    family: 'transformer',
    dModel: 8,
    heads: 2,
    ffDim: 16,
    dropout: 0,
    positional: 'sinusoidal',
    norm: 'post',
    encoderLayers: 1,
    decoderLayers: 1,
    ...overrides,
  };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const cases: Array<[TaskKind, Partial<Omit<TransformerSpec, 'family'>>]> = [
  ['sequence-classification', {}],
  ['sequence-classification', { norm: 'pre', positional: 'learned', encoderLayers: 0, decoderLayers: 2, dropout: 0.1 }],
  ['sequence-regression', { norm: 'pre' }],
  ['language-modelling', {}],
  ['language-modelling', { norm: 'pre', positional: 'learned', decoderLayers: 0, encoderLayers: 2 }],
  ['seq2seq', {}],
  ['seq2seq', { norm: 'pre', positional: 'learned', encoderLayers: 2, dropout: 0.1 }],
];

describe.each(cases)('transformer on %s %j', (task, overrides) => {
  it('builds the right output shape, trains, round-trips through save/load and leaks nothing', async () => {
    const info = tinyTaskInfo(task);
    const model = buildModel(tinySpec(overrides), info, 7);
    const result = await standardChecks(model, info);
    expect(result.outputShape).toEqual(expectedOutputShape(info, 4));
    expect(result.losses.every(Number.isFinite)).toBe(true);
    expect(result.losses[result.losses.length - 1]).toBeLessThan(result.losses[0] * 0.95);
    expect(result.roundTripDifference).toBeLessThan(1e-5);
    expect(result.leakedTensors).toBe(0);
    model.dispose();
  });
});

describe('transformer', () => {
  function outputGaps(model: tf.LayersModel, a: number[][], b: number[][], extra: tf.Tensor[] = [], position = 0): number[] {
    return tf.tidy(() => {
      const run = (ids: number[][]) => {
        const x = tf.tensor2d(ids, undefined, 'int32');
        const inputs = extra.length === 0 ? x : position === 0 ? [x, ...extra] : [...extra, x];
        return model.predict(inputs) as tf.Tensor;
      };
      return Array.from(run(a).sub(run(b)).abs().max(2).dataSync());
    });
  }

  it('language model is causal: a later token never changes an earlier output', () => {
    const info = tinyTaskInfo('language-modelling');
    const model = buildModel(tinySpec({ decoderLayers: 2 }), info, 3);
    const gaps = outputGaps(model, [[3, 4, 5, 6, 7, 8, 9, 10]], [[3, 4, 5, 12, 13, 14, 15, 11]]);
    expect(Math.max(...gaps.slice(0, 3))).toBeLessThan(1e-5);
    expect(Math.min(...gaps.slice(3))).toBeGreaterThan(1e-5);
    model.dispose();
  });

  it('seq2seq decoder is causal and ignores source padding', () => {
    const info = tinyTaskInfo('seq2seq');
    const model = buildModel(tinySpec({ encoderLayers: 2, decoderLayers: 2 }), info, 4);
    const source = tf.tensor2d([[5, 6, 7, 0, 0, 0]], undefined, 'int32');
    const gaps = outputGaps(model, [[1, 3, 4, 5, 6, 7, 8]], [[1, 3, 4, 8, 8, 3, 3]], [source], 1);
    expect(Math.max(...gaps.slice(0, 3))).toBeLessThan(1e-5);
    expect(Math.min(...gaps.slice(3))).toBeGreaterThan(1e-5);
    // The same model for 3-token sources (same seed, no length-dependent weights) must give the
    // same outputs for the unpadded source: padded source positions are invisible.
    const shortInfo = { ...info, inputSpecs: [{ ...info.inputSpecs[0], shape: [3] }, info.inputSpecs[1]] };
    const short = buildModel(tinySpec({ encoderLayers: 2, decoderLayers: 2 }), shortInfo, 4);
    const decoder = tf.tensor2d([[1, 3, 4, 5, 6, 7, 8]], undefined, 'int32');
    const padGap = tf.tidy(() => {
      const a = model.predict([source, decoder]) as tf.Tensor;
      const b = short.predict([tf.tensor2d([[5, 6, 7]], undefined, 'int32'), decoder]) as tf.Tensor;
      return a.sub(b).abs().max().dataSync()[0];
    });
    expect(padGap).toBeLessThan(1e-5);
    short.dispose();
    tf.dispose([source, decoder]);
    model.dispose();
  });

  it('sequence classifier ignores padding: padded equals unpadded', () => {
    const padded = tinyTaskInfo('sequence-classification');
    const short = { ...padded, inputSpecs: [{ ...padded.inputSpecs[0], shape: [3] }] };
    const a = buildModel(tinySpec({ positional: 'sinusoidal' }), padded, 9);
    const b = buildModel(tinySpec({ positional: 'sinusoidal' }), short, 9);
    const gap = tf.tidy(() => {
      const ya = a.predict(tf.tensor2d([[5, 6, 7, 0, 0, 0, 0, 0, 0, 0]], undefined, 'int32')) as tf.Tensor;
      const yb = b.predict(tf.tensor2d([[5, 6, 7]], undefined, 'int32')) as tf.Tensor;
      return ya.sub(yb).abs().max().dataSync()[0];
    });
    expect(gap).toBeLessThan(1e-5);
    a.dispose();
    b.dispose();
  });

  it('same seed, same weights; another seed, other weights', () => {
    const info = tinyTaskInfo('seq2seq');
    const [a, b, c] = [7, 7, 8].map((seed) => buildModel(tinySpec({ positional: 'learned' }), info, seed));
    const diff = (x: tf.LayersModel, y: tf.LayersModel) =>
      tf.tidy(() => Math.max(...x.getWeights().map((w, i) => w.sub(y.getWeights()[i]).abs().max().dataSync()[0])));
    expect(diff(a, b)).toBe(0);
    expect(diff(a, c)).toBeGreaterThan(0);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('rejects bad options with the field named', () => {
    const info = tinyTaskInfo('seq2seq');
    expect(() => buildModel(tinySpec({ heads: 3 }), info, 1)).toThrow(/model.heads/);
    expect(() => buildModel(tinySpec({ decoderLayers: 0 }), info, 1)).toThrow(/model.decoderLayers/);
    expect(() => buildModel(tinySpec({ encoderLayers: 0, decoderLayers: 0 }), info, 1)).toThrow(/model.encoderLayers/);
    expect(() => buildModel(tinySpec(), tinyTaskInfo('image-classification'), 1)).toThrow(/families that fit: cnn/);
  });
});

describe('transformer on the wasm kernels', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  /** Loss and gradients of every weight on one batch, on a backend, from the given weights. */
  async function lossAndGrads(backend: 'cpu' | 'wasm', task: TaskKind, spec: TransformerSpec, weights: tf.Tensor[] | null): Promise<{ values: Float32Array[]; weights: tf.Tensor[] }> {
    if (backend === 'wasm') await initBackend('wasm');
    else await tf.setBackend('cpu');
    const info = tinyTaskInfo(task);
    const model = buildModel(spec, info, 3);
    // Weights move between backends as plain values (a tensor belongs to its backend).
    if (weights) model.setWeights(weights.map((w) => tf.tensor(w.dataSync(), w.shape)));
    const initial = model.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape));
    const batch = randomBatch(info, 4, 5);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => taskLoss(info, model.apply(batch.inputs, { training: true }) as tf.Tensor, batch.target));
    const values = [value, ...model.trainableWeights.map((w) => grads[w.name])].map((t) => t.dataSync() as Float32Array);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    disposeBatch(batch);
    model.dispose();
    return { values, weights: initial };
  }

  // The BERT-style encoder (padding-masked self-attention on one qkv product) and the
  // encoder-decoder (causal self-attention on one product, cross-attention on three).
  it.each<[TaskKind, Partial<Omit<TransformerSpec, 'family'>>]>([
    ['sequence-classification', { dModel: 16, heads: 4, encoderLayers: 2, decoderLayers: 0 }],
    ['seq2seq', { dModel: 16, heads: 2, norm: 'pre', positional: 'learned' }],
  ])('%s %j: loss and every gradient match the cpu backend', async (task, overrides) => {
    const spec = tinySpec(overrides);
    const cpu = await lossAndGrads('cpu', task, spec, null);
    const wasm = await lossAndGrads('wasm', task, spec, cpu.weights);
    tf.dispose([...cpu.weights, ...wasm.weights]);
    expect(wasm.values).toHaveLength(cpu.values.length);
    wasm.values.forEach((a, i) => {
      const expected = cpu.values[i];
      const scale = Math.max(1e-3, ...Array.from(expected).map(Math.abs));
      const gap = Math.max(...Array.from(a).map((x, j) => Math.abs(x - expected[j])));
      expect(gap / scale).toBeLessThan(1e-4);
    });
  });
});
