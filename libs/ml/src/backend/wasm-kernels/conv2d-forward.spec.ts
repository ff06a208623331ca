import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../../data/rng';
import { initBackend } from '../backend';
import { setMaxForwardPatchFloatsForTests } from './conv2d-forward';
import { wasmKernelsRegistered } from './index';
import { expectWasmMatchesCpu } from '@tfleet/testing';

const rng = new SeededRandom(4321);
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

describe('Conv2D and FusedConv2D forward on wasm (im2col + GEMM)', () => {
  const cases: Array<[number[], number[], number | [number, number], 'same' | 'valid']> = [];
  for (const xShape of [[1, 5, 5, 1], [2, 7, 6, 3], [3, 13, 13, 16], [2, 10, 9, 6], [2, 1, 17, 8]]) {
    for (const filter of [[1, 1], [3, 3], [2, 3], [1, 3]]) {
      for (const stride of [1, 2]) {
        for (const pad of ['same', 'valid'] as const) {
          if (pad === 'valid' && (filter[0] > xShape[1] || filter[1] > xShape[2])) continue;
          cases.push([xShape, [...filter, xShape[3], 5], stride, pad]);
        }
      }
    }
  }
  it.each(cases)('values and gradients: x=%j filter=%j stride=%j pad=%s', async (xShape, filterShape, stride, pad) => {
    const x = randomData(xShape);
    const w = randomData(filterShape);
    const b = randomData([filterShape[3]]);
    await expectWasmMatchesCpu(() => {
      const f = (xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) =>
        tf.fused.conv2d({ x: xv as tf.Tensor4D, filter: wv as tf.Tensor4D, strides: stride, pad, bias: bv, activation: 'relu' });
      const plain = tf.conv2d(t(x) as tf.Tensor4D, t(w) as tf.Tensor4D, stride, pad);
      const grads = tf.grads((xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) => f(xv, wv, bv).square().sum())([t(x), t(w), t(b)]);
      return [plain, f(t(x), t(w), t(b)), ...grads];
    }, 1e-4);
  });

  it('the zoo shapes: cnn/mnist (both convs), cnn/adding and cnn/spam-assassin 1-D convs (batch 4)', async () => {
    const shapes: Array<[number[], number[]]> = [
      [[4, 28, 28, 1], [3, 3, 1, 32]],
      [[4, 13, 13, 32], [3, 3, 32, 64]],
      [[4, 1, 100, 2], [1, 3, 2, 32]],
      [[4, 1, 49, 32], [1, 3, 32, 64]],
      [[4, 1, 128, 64], [1, 3, 64, 32]],
    ];
    for (const [xShape, filterShape] of shapes) {
      const x = randomData(xShape);
      const w = randomData(filterShape);
      const b = randomData([filterShape[3]]);
      await expectWasmMatchesCpu(
        () => [
          tf.conv2d(t(x) as tf.Tensor4D, t(w) as tf.Tensor4D, 1, 'valid'),
          tf.fused.conv2d({ x: t(x) as tf.Tensor4D, filter: t(w) as tf.Tensor4D, strides: 1, pad: 'valid', bias: t(b), activation: 'relu' }),
        ],
        1e-4,
      );
    }
  });

  it('1-D convolution through tfjs conv1d (reshape to a height-1 image), with the conv1d gradient', async () => {
    const x = randomData([3, 20, 8]);
    const w = randomData([3, 8, 6]);
    await expectWasmMatchesCpu(() => {
      const f = (xv: tf.Tensor, wv: tf.Tensor) => tf.conv1d(xv as tf.Tensor3D, wv as tf.Tensor3D, 1, 'same').square().sum();
      return [tf.conv1d(t(x) as tf.Tensor3D, t(w) as tf.Tensor3D, 2, 'valid'), ...tf.grads(f)([t(x), t(w)])];
    }, 1e-4);
  });

  it.each([
    ['linear', undefined],
    ['relu6', undefined],
    ['elu', undefined],
    ['sigmoid', undefined],
    ['leakyrelu', 0.3],
  ] as const)('fused activation %s', async (activation, alpha) => {
    const x = randomData([2, 6, 7, 4]);
    const w = randomData([3, 3, 4, 5]);
    const b = randomData([5]);
    await expectWasmMatchesCpu(() =>
      tf.fused.conv2d({ x: t(x) as tf.Tensor4D, filter: t(w) as tf.Tensor4D, strides: 1, pad: 'same', bias: t(b), activation, leakyreluAlpha: alpha }),
    );
  });

  it('falls back to the stock kernel for dilations and prelu, with the same values as cpu', async () => {
    const x = randomData([2, 9, 8, 3]);
    const w = randomData([3, 3, 3, 4]);
    const alpha = randomData([4]);
    await expectWasmMatchesCpu(
      () => [
        tf.conv2d(t(x) as tf.Tensor4D, t(w) as tf.Tensor4D, 1, 'same', 'NHWC', 2),
        tf.fused.conv2d({ x: t(x) as tf.Tensor4D, filter: t(w) as tf.Tensor4D, strides: 1, pad: 'valid', activation: 'prelu', preluActivationWeights: t(alpha) }),
      ],
      1e-4,
    );
  });

  it.each([
    [[7, 6, 5, 3], 2],
    [[5, 9, 9, 1], 1],
    [[5, 9, 9, 1], 2],
  ])('processes x=%j in several pieces when its patch matrix is over budget (stride %d)', async (xShape, stride) => {
    const x = randomData(xShape);
    const w = randomData([3, 3, xShape[3], 4]);
    const b = randomData([4]);
    const floatsPerImage = 3 * 3 * xShape[3] * Math.ceil(xShape[1] / stride) * Math.ceil(xShape[2] / stride);
    setMaxForwardPatchFloatsForTests(2 * floatsPerImage);
    try {
      await expectWasmMatchesCpu(() => [
        tf.conv2d(t(x) as tf.Tensor4D, t(w) as tf.Tensor4D, stride, 'same'),
        tf.fused.conv2d({ x: t(x) as tf.Tensor4D, filter: t(w) as tf.Tensor4D, strides: stride, pad: 'same', bias: t(b), activation: 'relu' }),
      ], 1e-4);
    } finally {
      setMaxForwardPatchFloatsForTests();
    }
  });
});

describe('MaxPoolGrad on wasm: 1-D [2, 1] windows (row pairs)', () => {
  it.each([
    [[2, 98, 1, 32], 'valid'],
    [[2, 47, 1, 64], 'valid'],
    [[3, 10, 1, 5], 'valid'],
    [[2, 9, 3, 6], 'valid'],
    [[2, 12, 2, 3], 'same'],
  ] as const)('x=%j pad=%s, values and ReLU ties', async (xShape, pad) => {
    const x = randomData([...xShape]);
    await expectWasmMatchesCpu(() =>
      tf.grad((v: tf.Tensor) => {
        const pooled = tf.maxPool(tf.relu(v) as tf.Tensor4D, [2, 1], [2, 1], pad);
        return pooled.mul(tf.range(1, 1 + pooled.size).reshape(pooled.shape)).sum();
      })(t(x)),
    );
  });

  it('ties, NaN and -Infinity go where the cpu backend sends them', async () => {
    const special = [NaN, -Infinity, 0, 1, 1, -2, 3, 3, NaN, NaN, -Infinity, -Infinity];
    const shape = [2, 11, 1, 7];
    const count = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = special[(i * 7 + (i >> 3)) % special.length];
    await expectWasmMatchesCpu(() =>
      tf.grad((v: tf.Tensor) => {
        const pooled = tf.maxPool(v as tf.Tensor4D, [2, 1], [2, 1], 'valid');
        return pooled.mul(tf.range(1, 1 + pooled.size).reshape(pooled.shape)).sum();
      })(tf.tensor(values, shape)),
    );
  });

  it('tfjs-layers maxPooling1d gradient (the zoo 1-D CNNs)', async () => {
    const x = randomData([3, 15, 8]);
    await expectWasmMatchesCpu(() => {
      const layer = tf.layers.maxPooling1d({ poolSize: 2, strides: 2, padding: 'valid' });
      return tf.grad((v: tf.Tensor) => (layer.apply(v) as tf.Tensor).mul(tf.range(1, 1 + 3 * 7 * 8).reshape([3, 7, 8])).sum())(t(x));
    });
  });
});
