import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend';
import { FusedAdam } from './fused-adam';

/** Trains a tiny dense model for `steps` steps with `optimizer`; returns its weights and optimizer state. */
async function train(optimizer: tf.Optimizer, steps: number): Promise<{ weights: Float32Array[]; state: Array<{ name: string; values: Float32Array }> }> {
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [5], units: 7, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }), tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) })],
  });
  const x = tf.randomNormal([6, 5], 0, 1, 'float32', 1);
  const y = tf.randomNormal([6, 3], 0, 1, 'float32', 2);
  for (let i = 0; i < steps; i++) {
    optimizer.minimize(() => tf.losses.meanSquaredError(y, model.predict(x) as tf.Tensor) as tf.Scalar);
  }
  const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  const state = (await optimizer.getWeights()).map((w) => ({ name: w.name.replace(/\d+/g, ''), values: w.tensor.dataSync() as Float32Array }));
  tf.dispose([x, y]);
  model.dispose();
  return { weights, state };
}

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('FusedAdam', () => {
  it.each(['wasm', 'cpu'] as const)('gives tf.train.adam\'s float32 results and state on %s', async (backend) => {
    await tf.setBackend(backend);
    const stock = tf.train.adam(0.01);
    const expected = await train(stock, 5);
    const fused = new FusedAdam(0.01);
    const tensors = tf.memory().numTensors;
    const actual = await train(fused, 5);
    actual.weights.forEach((w, i) => {
      for (let j = 0; j < w.length; j++) expect(Math.abs(w[j] - expected.weights[i][j])).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(expected.weights[i][j])));
    });
    expect(actual.state.map((s) => s.name)).toEqual(expected.state.map((s) => s.name));
    actual.state.forEach((s, i) => expect(Array.from(s.values).map((v, j) => Math.abs(v - expected.state[i].values[j]) <= 1e-6 * Math.max(1, Math.abs(v)))).not.toContain(false));
    // The moments are the only tensors the optimizer keeps (4 variables x m and v, plus its step count's read).
    expect(tf.memory().numTensors).toBeLessThanOrEqual(tensors + 8 + 2);
    stock.dispose();
    fused.dispose();
  });

  it('is an Adam optimizer to serialisation and checkpoints', async () => {
    await tf.setBackend('wasm');
    const fused = new FusedAdam(0.001);
    expect(fused.getClassName()).toBe('Adam');
    expect(fused.getConfig()).toEqual(tf.train.adam(0.001).getConfig());
    fused.dispose();
  });

  it('one kernel per variable on wasm', async () => {
    await tf.setBackend('wasm');
    const v = tf.variable(tf.ones([4]));
    const fused = new FusedAdam(0.1);
    fused.applyGradients([{ name: v.name, tensor: tf.ones([4]) }]);
    const profile = await tf.profile(() => fused.applyGradients([{ name: v.name, tensor: tf.ones([4]) }]));
    expect(profile.kernels.filter((k) => k.name === 'TfleetAdam')).toHaveLength(1);
    expect(profile.kernels.map((k) => k.name)).not.toContain('Sqrt');
    fused.dispose();
    v.dispose();
  });
});
