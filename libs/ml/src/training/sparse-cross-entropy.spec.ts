import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend';
import { SOFTMAX_XENT } from '../backend/wasm-kernels/softmax-cross-entropy';
import { SeededRandom } from '../data/rng';
import { sparseSoftmaxCrossEntropy } from './sparse-cross-entropy';

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

  it('gives a target outside the classes no loss and no gradient, as a one-hot of it would', async () => {
    const c = randomCase([4], 6);
    c.targets.values.set([2, -1, 6, 5]);
    for (const backend of ['cpu', 'wasm'] as const) {
      const { loss, grad } = await lossAndGrad(backend, c);
      expect(Math.abs(loss[1])).toBe(0);
      expect(Math.abs(loss[2])).toBe(0);
      expect(loss[0]).toBeGreaterThan(0);
      expect(Array.from(grad.slice(6, 18)).every((g) => g === 0)).toBe(true);
    }
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
