import * as tf from '@tensorflow/tfjs';
import { disposeBatch, randomBatch, taskLoss, tinyTaskInfo } from '@tfleet/testing';
import { initBackend } from '../backend/backend';
import { buildModel } from '../models/build-model';
import type { RecurrentSpec } from '../models/rnn';
import { CallMemo } from './call-memo';
import { FusedGRU, FusedLSTM } from './fused-recurrent';
import { FusedSimpleRNN } from './fused-simple-rnn';

/*
 * The fused recurrent layers' call memo. tfjs-layers' executor calls a layer once per output it
 * needs; the seq2seq encoder (returnState: 2-3 outputs) ran its forward kernel 2-3 times per
 * step. With the memo each recurrent layer's sequence kernel runs once per step, the loss,
 * gradients and predictions are identical to the un-memoised path (CallMemo.enabled = false),
 * and nothing leaks.
 */
type Backend = 'cpu' | 'wasm';
type Family = RecurrentSpec['family'];

const SEQUENCE_KERNEL: Record<Family, string> = {
  lstm: 'TfleetLstmSequence',
  gru: 'TfleetGruSequence',
  'simple-rnn': 'TfleetSimpleRnnSequence',
};

function spec(family: Family, overrides: Partial<Omit<RecurrentSpec, 'family'>> = {}): RecurrentSpec {
  return { family, embeddingDim: 6, units: 8, layers: 1, bidirectional: false, dropout: 0, attention: true, recurrentActivation: 'sigmoid', ...overrides };
}

async function withMemo<T>(enabled: boolean, f: () => Promise<T> | T): Promise<T> {
  const before = CallMemo.enabled;
  CallMemo.enabled = enabled;
  try {
    return await f();
  } finally {
    CallMemo.enabled = before;
  }
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]!);
}

const CASES: Array<[Family, Partial<Omit<RecurrentSpec, 'family'>>, number | null]> = [
  // [family, overrides, recurrent layer calls per step: encoder (x2 when bidirectional: the
  // wrapper's MemoBidirectional) + decoder layers].
  ['lstm', {}, 2],
  ['gru', {}, 2],
  ['simple-rnn', {}, 2],
  ['lstm', { bidirectional: true }, 3],
  ['gru', { layers: 2, attention: false }, 4],
];

describe.each<[Backend]>([['cpu'], ['wasm']])('fused recurrent call memo on %s', (backend) => {
  beforeAll(async () => {
    if (backend === 'wasm') await initBackend('wasm');
    else await tf.setBackend('cpu');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each(CASES)('%s seq2seq %j: one sequence kernel per recurrent layer per step; same loss, gradients and predictions as without the memo; no leaks', async (family, overrides, layerCalls) => {
    const info = tinyTaskInfo('seq2seq');
    const model = buildModel(spec(family, overrides), info, 7);
    const batch = randomBatch(info, 3, 11);
    const kernel = SEQUENCE_KERNEL[family];
    const step = () => tf.variableGrads(() => taskLoss(info, model.apply(batch.inputs, { training: true }) as tf.Tensor, batch.target));
    const countKernels = async (): Promise<{ forward: number; backward: number }> => {
      const profile = await tf.profile(() => {
        const { value, grads } = step();
        tf.dispose([value, ...Object.values(grads)]);
      });
      const names = profile.kernels.map((k) => k.name);
      return { forward: names.filter((n) => n === kernel).length, backward: names.filter((n) => n === `${kernel}Grad`).length };
    };

    if (layerCalls !== null) {
      const memoised = await countKernels();
      expect(memoised).toEqual({ forward: layerCalls, backward: layerCalls });
      // The executor's repeats: without the memo the encoder runs once per output (the test can fail).
      const plain = await withMemo(false, countKernels);
      expect(plain.forward).toBeGreaterThan(layerCalls);
      expect(plain.backward).toBe(layerCalls);
    }

    // Values and gradients: the same kernels on the same inputs, so equal to rounding (exactly, in practice).
    const a = step();
    const b = await withMemo(false, step);
    expect(maxDiff(a.value, b.value)).toBeLessThanOrEqual(1e-6);
    expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort());
    for (const name of Object.keys(a.grads)) expect(maxDiff(a.grads[name]!, b.grads[name]!)).toBeLessThanOrEqual(1e-6);
    tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);

    // predict (the executor's inference path, which disposes intermediates as it goes).
    const p = model.predict(batch.inputs) as tf.Tensor;
    const q = await withMemo(false, () => model.predict(batch.inputs) as tf.Tensor);
    expect(maxDiff(p, q)).toBeLessThanOrEqual(1e-6);
    tf.dispose([p, q]);

    // Several optimizer steps: the tensor count stays flat and the loss moves (weights change, memo misses).
    const optimizer: tf.Optimizer = tf.train.adam(0.01);
    const losses: number[] = [];
    const trainStep = () => {
      const { value, grads } = step();
      losses.push(value.dataSync()[0]!);
      optimizer.applyGradients(grads);
      tf.dispose([value, ...Object.values(grads)]);
    };
    trainStep();
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) trainStep();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(losses[3]).toBeLessThan(losses[0]!);
    optimizer.dispose();
    model.dispose();
    disposeBatch(batch);
  });

  describe.each<[string, () => tf.layers.Layer]>([
    ['FusedLSTM', () => new FusedLSTM({ units: 5, returnState: true, recurrentActivation: 'sigmoid' })],
    ['FusedGRU', () => new FusedGRU({ units: 5, returnState: true, recurrentActivation: 'sigmoid' })],
    ['FusedSimpleRNN', () => new FusedSimpleRNN({ units: 5, returnState: true })],
  ])('%s with returnState', (_name, make) => {
    it('a repeat returns the same tensors; a disposed output, another input or the training flag compute afresh', () => {
      const layer = make();
      const x = tf.randomNormal([2, 4, 3], 0, 1, 'float32', 1);
      const first = layer.apply(x) as tf.Tensor[];
      const again = layer.apply(x) as tf.Tensor[];
      again.forEach((t, i) => expect(t).toBe(first[i]));
      const training = layer.apply(x, { training: true }) as tf.Tensor[];
      expect(training[0]).not.toBe(first[0]);
      const y = x.clone();
      const other = layer.apply(y) as tf.Tensor[];
      expect(other[0]).not.toBe(training[0]);
      tf.dispose(other);
      const fresh = layer.apply(y) as tf.Tensor[];
      expect(fresh[0]!.isDisposed).toBe(false);
      expect(maxDiff(fresh[0]!, first[0]!)).toBe(0);
      tf.dispose([x, y, ...first, ...training, ...fresh]);
      layer.dispose();
    });

    it('a weight update (new data behind the variable) computes afresh', () => {
      const layer = make();
      const x = tf.randomNormal([2, 4, 3], 0, 1, 'float32', 2);
      const before = layer.apply(x) as tf.Tensor[];
      const kernel = layer.trainableWeights[0]!.read() as tf.Variable;
      kernel.assign(tf.tidy(() => kernel.mul(0.5)));
      const after = layer.apply(x) as tf.Tensor[];
      expect(after[0]).not.toBe(before[0]);
      const reference = CallMemo.enabled ? (() => {
        CallMemo.enabled = false;
        try {
          return layer.apply(x) as tf.Tensor[];
        } finally {
          CallMemo.enabled = true;
        }
      })() : [];
      expect(maxDiff(after[0]!, reference[0]!)).toBe(0);
      expect(maxDiff(after[0]!, before[0]!)).toBeGreaterThan(0);
      tf.dispose([x, ...before, ...after, ...reference]);
      layer.dispose();
    });

    it('outputs computed outside a gradient tape are not reused inside one: the gradients are the un-memoised ones', () => {
      const layer = make();
      const x = tf.randomNormal([2, 4, 3], 0, 1, 'float32', 3);
      const outside = layer.apply(x) as tf.Tensor[];
      const variables = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      // Sums every output, as the executor would after calling once per output.
      const loss = () => tf.addN((layer.apply(x) as tf.Tensor[]).map((t, i) => t.mul(i + 1).sum())) as tf.Scalar;
      const memoised = tf.variableGrads(loss, variables);
      CallMemo.enabled = false;
      const plain = (() => {
        try {
          return tf.variableGrads(loss, variables);
        } finally {
          CallMemo.enabled = true;
        }
      })();
      expect(maxDiff(memoised.value, plain.value)).toBe(0);
      for (const v of variables) {
        expect(maxDiff(memoised.grads[v.name]!, plain.grads[v.name]!)).toBe(0);
        expect(tf.tidy(() => memoised.grads[v.name]!.abs().max().dataSync()[0]!)).toBeGreaterThan(0);
      }
      tf.dispose([x, ...outside, memoised.value, plain.value, ...Object.values(memoised.grads), ...Object.values(plain.grads)]);
      layer.dispose();
    });
  });
});
