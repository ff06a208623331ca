import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../../data/rng';
import { initBackend } from '../backend';
import { setMaxPatchFloatsForTests } from './conv2d-backprop-filter';
import { setMaxInputGradPatchFloatsForTests } from './conv2d-backprop-input';
import { registerWasmKernels, unregisterWasmKernels, wasmKernelsRegistered } from './index';
import { expectWasmMatchesCpu, relativeError, runOn } from '@tfleet/testing';

const rng = new SeededRandom(1234);
function randomData(shape: number[]): { values: Float32Array; shape: number[] } {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.normal();
  return { values, shape };
}

const t = (d: { values: Float32Array; shape: number[] }) => tf.tensor(d.values, d.shape);

beforeAll(async () => {
  await initBackend('wasm');
  expect(wasmKernelsRegistered()).toBe(true);
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('BatchMatMul on wasm', () => {
  const cases: Array<[string, number[], number[], boolean, boolean]> = [];
  for (const [m, k, n] of [[1, 1, 1], [7, 13, 5], [16, 32, 8], [3, 1, 9]]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = ta ? [k, m] : [m, k];
        const b = tb ? [n, k] : [k, n];
        cases.push([`2-D ${m}x${k}x${n}`, a, b, ta, tb]);
        cases.push([`batched 4 ${m}x${k}x${n}`, [4, ...a], [4, ...b], ta, tb]);
        cases.push([`batch-1 3-D ${m}x${k}x${n}`, [1, ...a], [1, ...b], ta, tb]);
      }
    }
  }
  cases.push(['broadcast b (batch 1)', [5, 6, 7], [1, 7, 3], false, false]);
  cases.push(['broadcast a (batch 1), transposed', [1, 7, 6], [5, 3, 7], true, true]);
  cases.push(['rank 4 batched', [2, 3, 4, 5], [2, 3, 6, 5], false, true]);
  cases.push(['rank 4 vs rank 3 broadcast', [2, 3, 4, 5], [1, 5, 6], false, false]);
  cases.push(['two-sided broadcast (stock fallback)', [2, 1, 4, 5], [1, 3, 5, 2], false, false]);

  it.each(cases)('%s a=%j b=%j transposeA=%s transposeB=%s', async (_name, aShape, bShape, ta, tb) => {
    const a = randomData(aShape);
    const b = randomData(bShape);
    await expectWasmMatchesCpu(() => tf.matMul(t(a), t(b), ta, tb));
  });

  it('gradients of a batched transposed product match cpu', async () => {
    const a = randomData([3, 5, 4]);
    const b = randomData([3, 6, 4]);
    await expectWasmMatchesCpu(() => {
      const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, false, true).square().sum())([t(a), t(b)]);
      return [ga, gb];
    });
  });

  it('rejects mismatched inner dimensions with a clear error', async () => {
    await tf.setBackend('wasm');
    expect(() => tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2])))).toThrow(/inner/);
  });
});

describe('_FusedMatMul on wasm', () => {
  const cases: Array<[number[], number[], boolean, boolean, 'linear' | 'relu' | 'elu' | 'relu6' | 'sigmoid' | 'leakyrelu', 'channel' | 'full' | 'none']> = [
    [[9, 4], [4, 7], false, false, 'relu', 'channel'],
    [[4, 9], [4, 7], true, false, 'linear', 'channel'],
    [[9, 4], [7, 4], false, true, 'relu6', 'channel'],
    [[4, 9], [7, 4], true, true, 'sigmoid', 'none'],
    [[9, 4], [4, 7], false, false, 'elu', 'full'],
    [[3, 9, 4], [4, 7], false, false, 'leakyrelu', 'channel'],
    [[3, 9, 4], [3, 4, 7], false, false, 'relu', 'channel'],
    [[3, 4, 9], [3, 7, 4], true, true, 'linear', 'full'],
  ];
  it.each(cases)('a=%j b=%j transposeA=%s transposeB=%s %s bias=%s', async (aShape, bShape, ta, tb, activation, biasKind) => {
    const a = randomData(aShape);
    const b = randomData(bShape);
    const m = ta ? aShape[aShape.length - 1] : aShape[aShape.length - 2];
    const n = tb ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
    const bias = biasKind === 'none' ? null : randomData(biasKind === 'channel' ? [n] : [m, n]);
    await expectWasmMatchesCpu(() =>
      tf.fused.matMul({ a: t(a), b: t(b), transposeA: ta, transposeB: tb, bias: bias ? t(bias) : undefined, activation }),
    );
  });

  it('prelu activation and gradients through the fused op match cpu', async () => {
    const a = randomData([6, 5]);
    const b = randomData([5, 4]);
    const bias = randomData([4]);
    const alpha = randomData([4]);
    await expectWasmMatchesCpu(() => tf.fused.matMul({ a: t(a), b: t(b), bias: t(bias), activation: 'prelu', preluActivationWeights: t(alpha) }));
    await expectWasmMatchesCpu(() =>
      tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
        tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias: z, activation: 'relu' }).sum(),
      )([t(a), t(b), t(bias)]),
    );
  });
});

describe('Conv2DBackpropFilter on wasm', () => {
  const cases: Array<[number[], number[], number, 'same' | 'valid']> = [];
  for (const xShape of [[1, 5, 5, 1], [2, 7, 6, 3], [3, 9, 9, 2], [1, 28, 28, 1], [4, 11, 10, 1]]) {
    for (const filter of [[1, 1], [3, 3], [2, 3]]) {
      for (const stride of [1, 2]) {
        for (const pad of ['same', 'valid'] as const) {
          cases.push([xShape, [...filter, xShape[3], 4], stride, pad]);
        }
      }
    }
  }
  it.each(cases)('x=%j filter=%j stride=%d pad=%s', async (xShape, filterShape, stride, pad) => {
    const x = randomData(xShape);
    const w = randomData(filterShape);
    await expectWasmMatchesCpu(
      () => tf.grad((f: tf.Tensor) => tf.conv2d(t(x) as tf.Tensor4D, f as tf.Tensor4D, stride, pad).square().sum())(t(w)),
      1e-4,
    );
  });

  it('explicit padding', async () => {
    const x = randomData([2, 6, 5, 2]);
    const w = randomData([3, 2, 2, 3]);
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 2], [0, 1], [0, 0]];
    await expectWasmMatchesCpu(() => tf.grad((f: tf.Tensor) => tf.conv2d(t(x) as tf.Tensor4D, f as tf.Tensor4D, [2, 1], pad).sum())(t(w)), 1e-4);
  });

  it.each([
    [[7, 6, 5, 3], 2],
    [[5, 9, 9, 1], 1],
  ])('processes x=%j in several pieces when its patch matrix is over budget (stride %d)', async (xShape, stride) => {
    const x = randomData(xShape);
    const w = randomData([3, 3, xShape[3], 4]);
    // Two images' patches per piece (and a last piece of one image).
    const floatsPerImage = 3 * 3 * xShape[3] * Math.ceil(xShape[1] / stride) * Math.ceil(xShape[2] / stride);
    setMaxPatchFloatsForTests(2 * floatsPerImage);
    try {
      await expectWasmMatchesCpu(() => tf.grad((f: tf.Tensor) => tf.conv2d(t(x) as tf.Tensor4D, f as tf.Tensor4D, stride, 'same').square().sum())(t(w)), 1e-4);
    } finally {
      setMaxPatchFloatsForTests();
    }
  });

  it('rejects NCHW data with a clear error', async () => {
    await tf.setBackend('wasm');
    expect(() =>
      tf.tidy(() =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.ones([1, 1, 4, 4]), dy: tf.ones([1, 1, 2, 2]) }, {
          strides: 1,
          pad: 'valid',
          dataFormat: 'NCHW',
          filterShape: [3, 3, 1, 1],
        }),
      ),
    ).toThrow(/NHWC/);
  });
});

describe('Conv2DBackpropInput on wasm', () => {
  const cases: Array<[number[], number[], number, 'same' | 'valid']> = [];
  for (const xShape of [[1, 5, 5, 1], [2, 7, 6, 3], [3, 13, 13, 16], [2, 10, 9, 6]]) {
    for (const filter of [[1, 1], [3, 3], [2, 3]]) {
      for (const stride of [1, 2]) {
        for (const pad of ['same', 'valid'] as const) cases.push([xShape, [...filter, xShape[3], 5], stride, pad]);
      }
    }
  }
  it.each(cases)('x=%j filter=%j stride=%d pad=%s', async (xShape, filterShape, stride, pad) => {
    const x = randomData(xShape);
    const w = randomData(filterShape);
    await expectWasmMatchesCpu(
      () => tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, t(w) as tf.Tensor4D, stride, pad).square().sum())(t(x)),
      1e-4,
    );
  });
  it('explicit padding and unequal strides', async () => {
    const x = randomData([2, 7, 6, 3]);
    const w = randomData([3, 2, 3, 4]);
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [2, 1], [0, 1], [0, 0]];
    await expectWasmMatchesCpu(() => tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, t(w) as tf.Tensor4D, [2, 1], pad).square().sum())(t(x)), 1e-4);
  });

  it.each([
    [[7, 6, 5, 3], 2],
    [[5, 9, 9, 1], 1],
  ])('processes x=%j in several pieces when its patch matrix is over budget (stride %d)', async (xShape, stride) => {
    const x = randomData(xShape);
    const w = randomData([3, 3, xShape[3], 4]);
    const floatsPerImage = 3 * 3 * xShape[3] * Math.ceil(xShape[1] / stride) * Math.ceil(xShape[2] / stride);
    setMaxInputGradPatchFloatsForTests(2 * floatsPerImage);
    try {
      await expectWasmMatchesCpu(() => tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, t(w) as tf.Tensor4D, stride, 'same').square().sum())(t(x)), 1e-4);
    } finally {
      setMaxInputGradPatchFloatsForTests();
    }
  });
});

describe('MaxPoolGrad on wasm', () => {
  const cases: Array<[number[], number, number, 'same' | 'valid', boolean]> = [];
  for (const xShape of [[1, 5, 5, 1], [2, 7, 6, 3], [3, 26, 26, 4], [2, 9, 7, 6]]) {
    for (const [size, stride] of [[2, 2], [3, 2], [3, 1], [2, 1]]) {
      for (const pad of ['same', 'valid'] as const) cases.push([xShape, size, stride, pad, xShape[0] === 2]);
    }
  }
  it.each(cases)('x=%j pool=%d stride=%d pad=%s relu-ties=%s', async (xShape, size, stride, pad, relu) => {
    const x = randomData(xShape);
    await expectWasmMatchesCpu(() =>
      tf.grad((v: tf.Tensor) => tf.maxPool((relu ? tf.relu(v) : v) as tf.Tensor4D, size, stride, pad).mul(tf.range(1, 1 + tf.maxPool(v as tf.Tensor4D, size, stride, pad).size).reshape(tf.maxPool(v as tf.Tensor4D, size, stride, pad).shape)).sum())(t(x)),
    );
  });

  // Windows with exact ties, NaN and -Infinity: the gradient must go where the cpu backend sends
  // it (first strict maximum in row-major window order; NaN never wins; an all -Infinity window
  // routes nothing).
  const special = [NaN, -Infinity, 0, 1, 1, -2, 3, 3];
  it.each([
    [[1, 4, 4, 1], 2, 2],
    [[2, 6, 6, 4], 2, 2],
    [[1, 5, 7, 8], 2, 2],
    [[2, 6, 6, 4], 3, 1],
  ])('x=%j pool=%d stride=%d with ties, NaN and -Infinity', async (xShape, size, stride) => {
    const count = xShape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = special[(i * 7 + (i >> 3)) % special.length];
    // Channel 0 of image 0: rows 0-1 x columns 0-1 all -Infinity, rows 2-3 x columns 2-3 all NaN.
    const at = (y: number, x: number) => (y * xShape[2] + x) * xShape[3];
    for (const [y, x] of [[0, 0], [0, 1], [1, 0], [1, 1]]) values[at(y, x)] = -Infinity;
    for (const [y, x] of [[2, 2], [2, 3], [3, 2], [3, 3]]) values[at(y, x)] = NaN;
    const data = { values, shape: xShape };
    const weights = (shape: number[]) => tf.range(1, 1 + shape.reduce((a, b) => a * b, 1)).reshape(shape);
    await expectWasmMatchesCpu(() =>
      tf.grad((v: tf.Tensor) => {
        const pooled = tf.maxPool(v as tf.Tensor4D, size, stride, 'valid');
        return pooled.mul(weights(pooled.shape)).sum();
      })(t(data)),
      1e-6,
    );
  });
});

describe('ReLU gradient on wasm (fused kernel)', () => {
  it.each([[[7]], [[3, 5]], [[2, 6, 5, 4]], [[64, 26, 26, 16]]])('x=%j matches cpu', async (shape) => {
    const x = randomData(shape);
    const w = randomData(shape);
    await expectWasmMatchesCpu(() => tf.grad((v: tf.Tensor) => tf.relu(v).mul(t(w)).sum())(t(x)), 1e-7);
  });

  it('gives the cpu values for zeros, NaN and infinite upstream gradients', async () => {
    const x = { values: new Float32Array([0, -0, 1, -1, NaN, Infinity, -Infinity, 2, 0, 3]), shape: [10] };
    const dy = { values: new Float32Array([1, 2, 3, 4, 5, 6, 7, Infinity, Infinity, NaN]), shape: [10] };
    const run = () => tf.grad((v: tf.Tensor) => tf.relu(v))(t(x), t(dy));
    const [expected] = await runOn('cpu', run);
    const [actual] = await runOn('wasm', run);
    expect(Array.from(actual)).toEqual(Array.from(expected));
    expect(Array.from(expected)).toEqual([0, 0, 3, 0, NaN, 6, 0, Infinity, NaN, NaN]);
  });

  it('runs as one kernel instead of step, cast and multiply', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([4, 8]);
    const profile = await tf.profile(() => tf.tidy(() => tf.grad((v: tf.Tensor) => tf.relu(v).sum())(x)));
    const names = profile.kernels.map((k) => k.name);
    expect(names).toContain('TfleetReluGrad');
    expect(names).not.toContain('Step');
    x.dispose();
  });
});

describe('UnsortedSegmentSum on wasm', () => {
  it.each([
    [[6], [0, 2, 2, 1, 0, 2], 3],
    [[5, 3], [4, 0, 4, 4, 1], 6],
    [[4, 2, 3], [1, 1, 0, 1], 2],
  ])('x=%j ids=%j numSegments=%d', async (xShape, ids, numSegments) => {
    const x = randomData(xShape);
    await expectWasmMatchesCpu(() => tf.unsortedSegmentSum(t(x), tf.tensor1d(ids, 'int32'), numSegments));
  });

  it('makes embedding (gather) gradients match cpu', async () => {
    const table = randomData([10, 4]);
    const ids = [[1, 3, 3], [9, 0, 1]];
    await expectWasmMatchesCpu(() => tf.grad((w: tf.Tensor) => tf.gather(w, tf.tensor2d(ids, undefined, 'int32')).square().sum())(t(table)));
  });

  it('rejects an id outside [0, numSegments) instead of writing out of range', async () => {
    await tf.setBackend('wasm');
    expect(() => tf.tidy(() => tf.unsortedSegmentSum(tf.ones([3]), tf.tensor1d([0, 5, 1], 'int32'), 3))).toThrow(/segment id 5 at position 1 is outside \[0, 3\)/);
    expect(() => tf.tidy(() => tf.unsortedSegmentSum(tf.ones([2]), tf.tensor1d([0, -1], 'int32'), 3))).toThrow(/segment id -1/);
  });
});

describe('kernel registration', () => {
  it('can put the stock kernels back and re-register', async () => {
    unregisterWasmKernels();
    expect(wasmKernelsRegistered()).toBe(false);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    await tf.setBackend('wasm');
    // Stock BatchMatMul still works (slow path), proving the original was restored intact.
    const stock = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([2, 3]), true, false).dataSync());
    expect(Array.from(stock)).toEqual(new Array(9).fill(2));
    // Without the fused kernel the ReLU gradient falls back to tfjs' formula.
    const reluGrad = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.relu(v).sum())(tf.tensor1d([-1, 0, 2])).dataSync());
    expect(Array.from(reluGrad)).toEqual([0, 0, 1]);
    registerWasmKernels();
    expect(wasmKernelsRegistered()).toBe(true);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });
});

describe('Tile on wasm and the fast Tile gradient', () => {
  it.each([
    [[3], [4]],
    [[2, 3], [1, 5]],
    [[1, 1, 7], [4, 3, 1]],
    [[4, 5, 1], [1, 1, 6]],
    [[2, 1, 3, 2], [2, 3, 1, 2]],
  ])('x=%j reps=%j matches cpu', async (xShape, reps) => {
    const x = randomData(xShape);
    await expectWasmMatchesCpu(() => tf.tile(t(x), reps));
  });

  it.each([
    [[3], [4]],
    [[2, 3], [3, 2]],
    [[1, 1, 5], [2, 3, 1]],
    [[2, 1, 3], [1, 4, 2]],
  ])('gradient for x=%j reps=%j equals the sum of the repeated blocks', async (xShape, reps) => {
    const x = randomData(xShape);
    const outShape = xShape.map((d, i) => d * reps[i]);
    const weights = randomData(outShape);
    // Reference: add up every block of the upstream gradient by explicit slicing.
    const expected = await runOn('cpu', () => {
      const w = t(weights);
      let sum = tf.zeros(xShape);
      const counters = reps.map(() => 0);
      for (;;) {
        sum = sum.add(tf.slice(w, counters.map((c, i) => c * xShape[i]), xShape));
        let axis = reps.length - 1;
        while (axis >= 0 && ++counters[axis] === reps[axis]) counters[axis--] = 0;
        if (axis < 0) break;
      }
      return sum;
    });
    for (const backend of ['cpu', 'wasm'] as const) {
      const [grad] = await runOn(backend, () => tf.grad((v: tf.Tensor) => tf.tile(v, reps).mul(t(weights)).sum())(t(x)));
      expect(relativeError(grad, expected[0])).toBeLessThan(1e-5);
    }
  });
});
