import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend';
import { SOFTMAX_XENT } from '../backend/wasm-kernels/softmax-cross-entropy';
import { SeededRandom } from '../data/rng';
import { LabelOutOfRangeError, sparseSoftmaxCrossEntropy } from './sparse-cross-entropy';

interface Case {
  logits: { values: Float32Array; shape: number[] };
  targets: { values: Int32Array; shape: number[] };
  /** Upstream gradient per position, so the backward pass sees more than ones. */
  weights: Float32Array;
}

const rng = new SeededRandom(99);

function randomCase(lead: number[], classes: number, scale = 3): Case {
  const positions = lead.reduce((a, b) => a * b, 1);
  const logits = new Float32Array(positions * classes);
  for (let i = 0; i < logits.length; i++) logits[i] = rng.normal() * scale;
  const targets = new Int32Array(positions);
  for (let i = 0; i < positions; i++) targets[i] = Math.floor(rng.next() * classes);
  const weights = new Float32Array(positions);
  for (let i = 0; i < positions; i++) weights[i] = rng.next() * 2 - 0.5;
  return { logits: { values: logits, shape: [...lead, classes] }, targets: { values: targets, shape: lead }, weights };
}

/** Loss values and d(sum(loss * weights))/d logits on one backend; checks nothing leaked there. */
async function lossAndGrad(backend: 'cpu' | 'wasm', c: Case): Promise<{ loss: Float32Array; grad: Float32Array }> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const dataIdsBefore = tf.backend().numDataIds();
  const logits = tf.tensor(c.logits.values, c.logits.shape);
  const targets = tf.tensor(c.targets.values, c.targets.shape, 'int32');
  const weights = tf.tensor(c.weights, c.targets.shape);
  const loss = tf.tidy(() => sparseSoftmaxCrossEntropy(logits, targets));
  const { grad, value } = tf.valueAndGrad((x: tf.Tensor) => tf.sum(tf.mul(sparseSoftmaxCrossEntropy(x, targets), weights)))(logits);
  const out = { loss: loss.dataSync() as Float32Array, grad: grad.dataSync() as Float32Array };
  expect(loss.shape).toEqual(c.targets.shape);
  tf.dispose([logits, targets, weights, loss, grad, value]);
  expect(tf.memory().numTensors).toBe(before);
  expect(tf.backend().numDataIds()).toBe(dataIdsBefore);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('sparseSoftmaxCrossEntropy', () => {
  it('runs the fused kernels on wasm and the composite on cpu', () => {
    expect(tf.getKernel(SOFTMAX_XENT, 'wasm')).toBeDefined();
    expect(tf.getKernel(SOFTMAX_XENT, 'cpu')).toBeUndefined();
  });

  it.each([
    { name: 'a language-model batch', lead: [4, 7], classes: 503 },
    { name: 'classification, classes a multiple of 4', lead: [9], classes: 12 },
    { name: 'classes below one SIMD vector', lead: [5], classes: 3 },
    { name: 'two classes', lead: [3], classes: 2 },
    { name: 'one position', lead: [1, 1], classes: 37 },
  ])('matches the composite on cpu: $name', async ({ lead, classes }) => {
    const c = randomCase(lead, classes);
    const cpu = await lossAndGrad('cpu', c);
    const wasm = await lossAndGrad('wasm', c);
    expect(maxAbsDiff(wasm.loss, cpu.loss)).toBeLessThan(2e-5 * Math.max(1, ...cpu.loss));
    expect(maxAbsDiff(wasm.grad, cpu.grad)).toBeLessThan(2e-6);
  });

  it('stays exact for large logit spreads, where exp underflows', async () => {
    const c = randomCase([6], 40, 60);
    const cpu = await lossAndGrad('cpu', c);
    const wasm = await lossAndGrad('wasm', c);
    for (let i = 0; i < cpu.loss.length; i++) expect(wasm.loss[i]).toBeCloseTo(cpu.loss[i], 3);
    expect(maxAbsDiff(wasm.grad, cpu.grad)).toBeLessThan(1e-6);
  });

  it.each([
    { name: 'negative', bad: -1, message: /label -1 at position 1 is not a class id in \[0, 6\)/ },
    { name: 'equal to the class count', bad: 6, message: /label 6 at position 1 is not a class id in \[0, 6\)/ },
    { name: 'far out', bad: 1000, message: /label 1000 at position 1 / },
  ])('rejects a $name target on both paths before computing anything, leaking nothing', async ({ bad, message }) => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const logits = tf.randomNormal([4, 6]);
      const targets = tf.tensor1d([2, bad, 0, 5], 'int32');
      expect(() => tf.tidy(() => sparseSoftmaxCrossEntropy(logits, targets))).toThrow(LabelOutOfRangeError);
      expect(() => tf.tidy(() => sparseSoftmaxCrossEntropy(logits, targets))).toThrow(message);
      expect(() => tf.grad((x: tf.Tensor) => tf.sum(sparseSoftmaxCrossEntropy(x, targets)))(logits)).toThrow(message);
      tf.dispose([logits, targets]);
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('rejects a float target that is not a whole class id', async () => {
    await tf.setBackend('cpu');
    const logits = tf.zeros([2, 3]);
    const targets = tf.tensor1d([1, 1.5]);
    expect(() => tf.tidy(() => sparseSoftmaxCrossEntropy(logits, targets))).toThrow(/label 1.5 at position 1/);
    tf.dispose([logits, targets]);
  });

  it('the wasm kernel itself refuses an out-of-range label', async () => {
    await tf.setBackend('wasm');
    const logits = tf.zeros([2, 3]);
    const labels = tf.tensor1d([0, 3], 'int32');
    expect(() => tf.engine().runKernel(SOFTMAX_XENT, { logits, labels })).toThrow(/TfleetSoftmaxXent: label 3 of row 1 is outside \[0, 3\)/);
    tf.dispose([logits, labels]);
  });

  it('propagates NaN logits into the loss', async () => {
    await tf.setBackend('wasm');
    const loss = tf.tidy(() => sparseSoftmaxCrossEntropy(tf.tensor2d([[0, NaN, 1], [0, 1, 2]]), tf.tensor1d([0, 2], 'int32')));
    const values = loss.dataSync();
    loss.dispose();
    expect(Number.isNaN(values[0])).toBe(true);
    expect(values[1]).toBeCloseTo(Math.log(1 + Math.E + Math.E ** 2) - 2, 5);
  });
});
