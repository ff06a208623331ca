import * as tf from '@tensorflow/tfjs';
import { relativeError } from './relative-error.util';

/** What a kernel spec runs on both backends: one tensor or several. */
export type Computation = () => tf.Tensor | tf.Tensor[];

/** Runs `fn` on a backend and returns plain arrays, checking that nothing leaked there. */
export async function runOn(backend: 'cpu' | 'wasm', fn: Computation): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const tensorsBefore = tf.memory().numTensors;
  const dataIdsBefore = tf.backend().numDataIds();
  const out = tf.tidy(fn);
  const list = Array.isArray(out) ? out : [out];
  const values = list.map((t) => t.dataSync() as Float32Array);
  tf.dispose(list);
  expect(tf.memory().numTensors).toBe(tensorsBefore);
  expect(tf.backend().numDataIds()).toBe(dataIdsBefore);
  return values;
}

/** `fn` on wasm gives cpu's results within `bound` (relative error), with no leak on either. */
export async function expectWasmMatchesCpu(fn: Computation, bound = 1e-5): Promise<void> {
  const expected = await runOn('cpu', fn);
  const actual = await runOn('wasm', fn);
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(relativeError(a, expected[i]!)).toBeLessThan(bound));
}
