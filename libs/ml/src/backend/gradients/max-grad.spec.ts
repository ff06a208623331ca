import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';

/** tfjs-core's formula: dy (kept dims) times the 0/1 mask of x equal to the extremum. */
function stockGrad(x: tf.Tensor, axis: number[], kind: 'max' | 'min', dy: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const y = kind === 'max' ? tf.max(x, axis, true) : tf.min(x, axis, true);
    const kept = tf.reshape(dy, y.shape);
    return tf.mul(kept, tf.cast(tf.equal(x, y), 'float32'));
  });
}

describe.each(['cpu', 'wasm'] as const)('Max and Min gradients on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  // The zoo's 1-D CNN global max pool ([B, T, C] over T), a 2-D reduction and ties.
  const cases: Array<{ shape: number[]; axis: number[]; ties: boolean }> = [
    { shape: [4, 23, 8], axis: [1], ties: false },
    { shape: [3, 5, 6], axis: [0, 2], ties: false },
    { shape: [6, 7], axis: [1], ties: true },
  ];

  it.each(cases)('match the stock formula: $shape over $axis (ties: $ties)', ({ shape, axis, ties }) => {
    const before = tf.memory().numTensors;
    for (const kind of ['max', 'min'] as const) {
      tf.tidy(() => {
        // Ties: values on a coarse grid, so several elements share the extremum.
        const x = ties ? tf.randomUniform(shape, 0, 3, 'int32', 7).toFloat() : tf.randomNormal(shape, 0, 1, 'float32', 7);
        const outShape = shape.filter((_, i) => !axis.includes(i));
        const dy = tf.randomNormal(outShape, 0, 1, 'float32', 11);
        const f = (t: tf.Tensor) => (kind === 'max' ? tf.max(t, axis) : tf.min(t, axis));
        const grad = tf.grad((t: tf.Tensor) => f(t).mul(dy).sum())(x);
        const expected = stockGrad(x, axis, kind, dy);
        expect(grad.shape).toEqual(shape);
        expect(Array.from(grad.dataSync())).toEqual(Array.from(expected.dataSync()));
        if (ties) expect(tf.sum(tf.notEqual(grad, 0)).dataSync()[0]).toBeGreaterThan(outShape.reduce((a, b) => a * b, 1));
      });
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps the stock formula for int32 inputs', () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[1, 5, 5], [7, 2, 7]], [2, 3], 'int32');
      const dx = tf.grad((t: tf.Tensor) => tf.max(t, 1).toFloat().sum())(x);
      // Every tied maximum gets the gradient, as tfjs-core's equal mask gives it.
      expect(Array.from(dx.dataSync())).toEqual([0, 1, 1, 1, 0, 1]);
    });
  });
});
