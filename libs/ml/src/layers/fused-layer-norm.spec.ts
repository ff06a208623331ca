import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend';
import { SeededRandom } from '../data/rng';
import { FusedLayerNormalization } from './fused-layer-norm';
import { relativeError } from '@tfleet/testing';

const rng = new SeededRandom(21);
function randomValues(size: number, scale = 1, shift = 0): Float32Array {
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = shift + scale * rng.normal();
  return values;
}

interface Outputs {
  y: Float32Array;
  grads: Float32Array[];
}

/**
 * Output and gradients (x, gamma, beta) of sum(y * w) for a layer-norm layer made by `make`,
 * with given gamma and beta, on `backend`; checks that nothing leaked.
 */
async function run(
  backend: 'cpu' | 'wasm',
  make: () => tf.layers.Layer,
  shape: number[],
  values: { x: Float32Array; w: Float32Array; gamma: Float32Array; beta: Float32Array },
): Promise<Outputs> {
  await tf.setBackend(backend);
  const layer = make();
  const x = tf.tensor(values.x, shape);
  layer.apply(x);
  layer.setWeights([tf.tensor(values.gamma), tf.tensor(values.beta)]);
  const tensors = tf.memory().numTensors;
  const dataIds = tf.backend().numDataIds();
  const { y, grads } = tf.tidy(() => {
    const w = tf.tensor(values.w, shape);
    const out = layer.apply(x) as tf.Tensor;
    const f = (xv: tf.Tensor): tf.Scalar => (layer.apply(xv) as tf.Tensor).mul(w).sum();
    const dx = tf.grad(f)(x);
    const { grads: weightGrads } = tf.variableGrads(() => f(x), layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val));
    return { y: out, grads: [dx, ...Object.values(weightGrads)] };
  });
  const result = { y: y.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array) };
  tf.dispose([y, ...grads]);
  expect(tf.memory().numTensors).toBe(tensors);
  expect(tf.backend().numDataIds()).toBe(dataIds);
  tf.dispose(x);
  layer.dispose();
  return result;
}


beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('FusedLayerNormalization', () => {
  it.each([
    [[2, 5, 7], 1e-5],
    [[3, 128], 1e-3],
    [[4, 3, 16], 1e-5],
    [[1, 1, 1], 1e-3],
    [[6, 33], 1e-5],
  ])('x=%j epsilon=%d: output and gradients on wasm match tf.layers.layerNormalization on cpu', async (shape, epsilon) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const cols = shape[shape.length - 1];
    // Rows with a mean far from 0 check that the variance is taken about the mean.
    const values = { x: randomValues(size, 2, 3), w: randomValues(size), gamma: randomValues(cols, 0.5, 1), beta: randomValues(cols) };
    const expected = await run('cpu', () => tf.layers.layerNormalization({ epsilon }), shape, values);
    const actual = await run('wasm', () => new FusedLayerNormalization({ epsilon }), shape, values);
    expect(relativeError(actual.y, expected.y)).toBeLessThan(1e-5);
    expect(actual.grads).toHaveLength(3);
    actual.grads.forEach((g, i) => expect(relativeError(g, expected.grads[i])).toBeLessThan(1e-4));
  });

  it('runs as one kernel forward on wasm and falls back to tfjs-layers elsewhere', async () => {
    const x = tf.tidy(() => tf.randomNormal([2, 3, 4]));
    for (const backend of ['wasm', 'cpu'] as const) {
      await tf.setBackend(backend);
      const layer = new FusedLayerNormalization({ epsilon: 1e-5 });
      const xs = tf.tensor(x.dataSync(), x.shape);
      layer.apply(xs);
      const profile = await tf.profile(() => (layer.apply(xs) as tf.Tensor).dispose());
      // customGrad itself shows up as an unnamed entry.
      const names = profile.kernels.map((k) => k.name).filter((name) => name !== '');
      if (backend === 'wasm') expect(names).toEqual(['TfleetLayerNorm']);
      else expect(names).toContain('FusedBatchNorm');
      tf.dispose(xs);
      layer.dispose();
    }
    x.dispose();
  });

  it('other axes and center/scale off use tfjs-layers and give its results', async () => {
    const shape = [3, 4, 5];
    const values = { x: randomValues(60), w: randomValues(60), gamma: randomValues(4, 0.5, 1), beta: randomValues(4) };
    const expected = await run('cpu', () => tf.layers.layerNormalization({ axis: 1 }), shape, values);
    const actual = await run('wasm', () => new FusedLayerNormalization({ axis: 1 }), shape, values);
    expect(relativeError(actual.y, expected.y)).toBeLessThan(1e-5);
    await tf.setBackend('wasm');
    const noScale = new FusedLayerNormalization({ scale: false });
    const y = noScale.apply(tf.ones([2, 3])) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    y.dispose();
  });

  it('serialises like tf.layers.layerNormalization under its own class name, and trains in a model', async () => {
    await tf.setBackend('wasm');
    const input = tf.input({ shape: [4, 6] });
    const norm = new FusedLayerNormalization({ epsilon: 1e-5, name: 'ln' });
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(norm.apply(input)) as tf.SymbolicTensor });
    const config = norm.getConfig();
    expect(config['epsilon']).toBe(1e-5);
    expect(norm.getClassName()).toBe('TfleetFusedLayerNormalization');
    expect(norm.weights.map((w) => w.originalName)).toEqual(['ln/gamma', 'ln/beta']);
    const copy = tf.serialization.SerializationMap.getMap().classNameMap['TfleetFusedLayerNormalization'];
    expect(copy).toBeDefined();
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    const xs = tf.tidy(() => tf.randomNormal([8, 4, 6], 0, 1, 'float32', 3));
    const ys = tf.zeros([8, 4, 2]);
    const first = (await model.fit(xs, ys, { epochs: 1, verbose: 0 })).history['loss'][0] as number;
    const later = (await model.fit(xs, ys, { epochs: 5, verbose: 0 })).history['loss'][4] as number;
    expect(later).toBeLessThan(first);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
