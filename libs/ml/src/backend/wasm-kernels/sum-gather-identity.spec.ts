import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../../data/rng';
import { initBackend } from '../backend';

const rng = new SeededRandom(7);
function randomValues(shape: number[]): Float32Array {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = rng.normal();
  return values;
}

/** Runs `fn` on a backend and returns plain arrays and shapes, checking that nothing leaked there. */
async function runOn(backend: 'cpu' | 'wasm', fn: () => tf.Tensor | tf.Tensor[]): Promise<Array<{ values: Float32Array | Int32Array; shape: number[] }>> {
  await tf.setBackend(backend);
  const tensorsBefore = tf.memory().numTensors;
  const dataIdsBefore = tf.backend().numDataIds();
  const out = tf.tidy(fn);
  const list = Array.isArray(out) ? out : [out];
  const results = list.map((t) => ({ values: t.dataSync() as Float32Array | Int32Array, shape: t.shape }));
  tf.dispose(list);
  expect(tf.memory().numTensors).toBe(tensorsBefore);
  expect(tf.backend().numDataIds()).toBe(dataIdsBefore);
  return results;
}

async function expectWasmMatchesCpu(fn: () => tf.Tensor | tf.Tensor[], bound = 1e-5): Promise<void> {
  const expected = await runOn('cpu', fn);
  const actual = await runOn('wasm', fn);
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    expect(a.shape).toEqual(expected[i].shape);
    let maxDiff = 0;
    let maxRef = 1;
    for (let j = 0; j < a.values.length; j++) {
      maxDiff = Math.max(maxDiff, Math.abs(a.values[j] - expected[i].values[j]));
      maxRef = Math.max(maxRef, Math.abs(expected[i].values[j]));
    }
    expect(a.values.length).toBe(expected[i].values.length);
    expect(maxDiff / maxRef).toBeLessThanOrEqual(bound);
  });
}

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('Sum on wasm', () => {
  const cases: Array<[number[], number | number[], boolean]> = [
    [[2048, 128], 0, false],
    [[7, 5], 0, true],
    [[7, 6], [0], false],
    [[32, 1, 64, 1, 128], [0, 2], false],
    [[32, 1, 64, 1, 128], [0, 2], true],
    [[1, 33, 3], [0, 1], false],
    [[4, 5, 6], [1], false], // middle axis: one column sum per leading block
    [[4, 5, 6, 7], [1, 2], true],
    [[3, 4, 5], -1, false], // innermost: stock kernel
    [[3, 4, 5], [0, 2], false], // not contiguous: stock kernel
    [[9], 0, false],
    [[3, 4], [0, 1], false],
    [[5, 1], 0, false],
    [[1, 9], 1, true],
  ];
  it.each(cases)('x=%j axis=%j keepDims=%s matches cpu', async (shape, axis, keepDims) => {
    const values = randomValues(shape);
    await expectWasmMatchesCpu(() => tf.sum(tf.tensor(values, shape), axis, keepDims));
  });

  it('int32 sums go to the stock kernel and stay exact', async () => {
    await expectWasmMatchesCpu(() => tf.sum(tf.tensor2d([[1, 2], [3, 4], [5, 6]], undefined, 'int32'), 0), 0);
  });

  it('bias gradients of a dense layer match cpu', async () => {
    const x = randomValues([6, 10, 4]);
    const w = randomValues([4, 3]);
    const b = randomValues([3]);
    await expectWasmMatchesCpu(() =>
      tf.grads((bias: tf.Tensor) => tf.matMul(tf.tensor(x, [60, 4]), tf.tensor(w, [4, 3])).add(bias).square().sum())([tf.tensor(b)]),
    );
  });
});

describe('GatherV2 on wasm', () => {
  const cases: Array<[number[], number[], number[], number]> = [
    [[64, 128], [2048], Array.from({ length: 2048 }, (_, i) => (i * 37) % 64), 0],
    [[5, 3], [2, 3], [4, 0, 4, 1, 1, 2], 0],
    [[4, 6, 2], [3], [5, 0, 2], 1],
    [[4, 6, 2], [2, 2], [1, 0, 1, 1], -1],
    [[7], [4], [6, 6, 0, 3], 0],
    [[3, 2], [0], [], 0],
  ];
  it.each(cases)('x=%j ids shape %j axis=%d matches cpu', async (xShape, idsShape, ids, axis) => {
    const values = randomValues(xShape);
    await expectWasmMatchesCpu(() => tf.gather(tf.tensor(values, xShape), tf.tensor(ids, idsShape, 'int32'), axis));
  });

  it('gathers int32 tables', async () => {
    await expectWasmMatchesCpu(() => tf.gather(tf.tensor2d([[1, 2], [3, 4], [5, 6]], undefined, 'int32'), tf.tensor1d([2, 0, 2], 'int32')), 0);
  });

  it('rejects an out-of-range id with the cpu backend message and frees its output', async () => {
    await tf.setBackend('wasm');
    const dataIds = tf.backend().numDataIds();
    expect(() => tf.tidy(() => tf.gather(tf.ones([3, 2]), tf.tensor1d([0, 3], 'int32')))).toThrow('GatherV2: the index value 3 is not in [0, 2]');
    expect(() => tf.tidy(() => tf.gather(tf.ones([3, 2]), tf.tensor1d([-1], 'int32')))).toThrow(/index value -1/);
    expect(tf.backend().numDataIds()).toBe(dataIds);
  });

  it('embedding gradients through gather match cpu', async () => {
    const table = randomValues([10, 4]);
    await expectWasmMatchesCpu(() => tf.grad((w: tf.Tensor) => tf.gather(w, tf.tensor2d([[1, 3, 3], [9, 0, 1]], undefined, 'int32')).square().sum())(tf.tensor(table, [10, 4])));
  });
});

describe('Identity on wasm', () => {
  it('shares the input memory and frees it only with the last tensor', async () => {
    await tf.setBackend('wasm');
    const dataIds = tf.backend().numDataIds();
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    expect(tf.backend().numDataIds()).toBe(dataIds + 1);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
    expect(tf.backend().numDataIds()).toBe(dataIds);
  });

  it('a cast to the same dtype shares the memory too; other casts still convert', async () => {
    await tf.setBackend('wasm');
    const dataIds = tf.backend().numDataIds();
    const x = tf.tensor1d([1.5, -2.5, 3]);
    const same = tf.cast(x, 'float32');
    expect(tf.backend().numDataIds()).toBe(dataIds + 1);
    const ints = tf.cast(x, 'int32');
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.dataSync())).toEqual([1, -2, 3]);
    x.dispose();
    expect(Array.from(same.dataSync())).toEqual([1.5, -2.5, 3]);
    tf.dispose([same, ints]);
    expect(tf.backend().numDataIds()).toBe(dataIds);
  });

  it('a variable assigned from a clone keeps its value after the source is disposed', async () => {
    await tf.setBackend('wasm');
    const source = tf.tensor1d([4, 5]);
    const v = tf.variable(tf.clone(source));
    source.dispose();
    v.assign(tf.tensor1d([6, 7]));
    expect(Array.from(v.dataSync())).toEqual([6, 7]);
    v.dispose();
  });

  it('gradients that pass dy through unchanged match cpu', async () => {
    const a = randomValues([3, 4]);
    const b = randomValues([3, 4]);
    await expectWasmMatchesCpu(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.addN([x, y, x]).sum())([tf.tensor(a, [3, 4]), tf.tensor(b, [3, 4])]));
  });
});
