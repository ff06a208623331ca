import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../backend';
import { compileWat } from '../simd/wat-compiler';
import { asWasmBackend } from '../wasm-internals';
import { registerWasmKernels, unregisterWasmKernels, wasmKernelsRegistered } from '../index';
import { ERF_GRAD_KERNEL, TANH_GRAD_KERNEL } from '../activations';
import { ACT_KERNELS_WASM_BASE64 } from './act-kernels-wasm';
import { ACT_GENERATED_FILE_NAME, ACT_WAT_FILE_NAME, actGeneratedModuleSource, actSimdSourceDir } from './generate';
import { actKernels } from './index';

/** erf in float64: 2/sqrt(pi) e^(-x^2) sum 2^n x^(2n+1) / (1*3*...*(2n+1)), all terms positive (no cancellation). */
function erf64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a > 6) return Math.sign(x);
  let term = a;
  let sum = a;
  for (let n = 1; term > sum * 1e-17; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  const value = (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum;
  return x < 0 || Object.is(x, -0) ? -value : value;
}

/** Inputs: a dense grid over [-12, 12], magnitudes 1e-38 .. 1e4 of both signs, subnormals and the special values. */
function inputs(): Float32Array {
  const values: number[] = [];
  for (let i = 0; i <= 240000; i++) values.push(-12 + i * 1e-4);
  for (let e = -45; e <= 4; e += 0.01) values.push(10 ** e, -(10 ** e));
  values.push(0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1e-40, -3e-39, 88.72, 88.73, 89, -87.3, -103.9, -104, -1e4, 1e4, 3.92, -3.92, 9.01, -9.02, 0.625, -0.625, 1, -1);
  return Float32Array.from(values);
}

async function run(backend: 'cpu' | 'wasm', op: (x: tf.Tensor) => tf.Tensor, x: Float32Array): Promise<Float32Array> {
  await tf.setBackend(backend);
  const tensors = tf.memory().numTensors;
  const ids = tf.backend().numDataIds();
  const out = tf.tidy(() => op(tf.tensor1d(x)).dataSync() as Float32Array);
  expect(tf.memory().numTensors).toBe(tensors);
  expect(tf.backend().numDataIds()).toBe(ids);
  return out;
}

/** Largest |got - want| and largest error in units of want's float32 spacing (NaN must match NaN; equal infinities count 0). */
function errors(got: Float32Array, want: (i: number) => number): { abs: number; ulp: number; mismatched: number[] } {
  let abs = 0;
  let ulp = 0;
  const mismatched: number[] = [];
  for (let i = 0; i < got.length; i++) {
    const w = want(i);
    if (Number.isNaN(w) || Number.isNaN(got[i])) {
      if (Number.isNaN(w) !== Number.isNaN(got[i])) mismatched.push(i);
      continue;
    }
    if (got[i] === w) continue;
    // Beyond float32's range the float64 reference becomes +-Infinity (exp overflow).
    const rounded = Math.fround(w);
    if (!Number.isFinite(rounded) || !Number.isFinite(got[i])) {
      if (rounded !== got[i]) mismatched.push(i);
      continue;
    }
    const d = Math.abs(got[i] - w);
    const w32 = Math.fround(Math.abs(w));
    // float32 spacing at |want| (the subnormal spacing below 2^-126).
    const spacing = w32 < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(w32)) - 23);
    abs = Math.max(abs, d);
    ulp = Math.max(ulp, d / spacing);
  }
  return { abs, ulp, mismatched };
}

beforeAll(async () => {
  await initBackend('wasm');
  expect(wasmKernelsRegistered()).toBe(true);
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('activation SIMD kernel module', () => {
  it('the committed bytes are a fresh compile of act-kernels.wat (run act-simd/generate after editing it)', async () => {
    const dir = actSimdSourceDir();
    const bytes = await compileWat(fs.readFileSync(path.join(dir, ACT_WAT_FILE_NAME), 'utf8'), ACT_WAT_FILE_NAME);
    expect(Buffer.from(bytes).toString('base64')).toBe(ACT_KERNELS_WASM_BASE64);
    expect(fs.readFileSync(path.join(dir, ACT_GENERATED_FILE_NAME), 'utf8')).toBe(actGeneratedModuleSource(bytes));
  });

  it('instantiates once per backend and works in place', async () => {
    await tf.setBackend('wasm');
    const backend = asWasmBackend(tf.backend());
    const kernels = actKernels(backend);
    expect(actKernels(backend)).toBe(kernels);
    const x = tf.tensor1d([0, 1, -1, 2, 0.5]);
    const at = backend.dataIdMap.get(x.dataId).memoryOffset;
    kernels.exp(at, at, 5);
    const got = Array.from(x.dataSync());
    [1, Math.E, 1 / Math.E, Math.E ** 2, Math.sqrt(Math.E)].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    x.dispose();
  });
});

describe('Tanh, Exp and Erf on wasm', () => {
  const x = inputs();
  const cases: Array<[string, (t: tf.Tensor) => tf.Tensor, (v: number) => number, number, number, number]> = [
    // name, op, float64 reference, max ulp vs reference, max abs vs reference, max abs vs the cpu backend
    ['tanh', (t) => tf.tanh(t), Math.tanh, 1.5, 8e-8, 2e-7],
    ['erf', (t) => tf.erf(t), erf64, 1.5, 9e-8, 3e-7],
    ['exp', (t) => tf.exp(t), Math.exp, 1, Infinity, Infinity],
  ];

  it.each(cases)('%s matches float64 within its bound, and the cpu backend', async (name, op, reference, maxUlp, maxAbs, maxAbsCpu) => {
    const wasm = await run('wasm', op, x);
    const ref = errors(wasm, (i) => reference(x[i]));
    expect(ref.mismatched.map((i) => x[i])).toEqual([]);
    expect(ref.ulp).toBeLessThanOrEqual(maxUlp);
    expect(ref.abs).toBeLessThanOrEqual(maxAbs);
    const cpu = await run('cpu', op, x);
    const vsCpu = errors(wasm, (i) => cpu[i]);
    expect(vsCpu.mismatched.map((i) => x[i])).toEqual([]);
    if (name === 'exp') {
      // The cpu backend rounds Math.exp to float32: both within an ulp of the truth.
      expect(vsCpu.ulp).toBeLessThanOrEqual(2);
    } else {
      // The cpu backend's erf is Abramowitz-Stegun 7.1.26 (1.5e-7 absolute error of its own).
      expect(vsCpu.abs).toBeLessThanOrEqual(maxAbsCpu);
    }
  });

  it('special values: +-0, +-Infinity, NaN, subnormals, saturation', async () => {
    const specials = Float32Array.from([0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-40, 20, -20, 9.1, -9.1, 4, -4, 1e30, -1e30]);
    const tanh = await run('wasm', (t) => tf.tanh(t), specials);
    expect(Array.from(tanh)).toEqual([0, -0, 1, -1, NaN, Math.fround(1e-40), -Math.fround(1e-40), 1, -1, 1, -1, Math.fround(Math.tanh(4)), Math.fround(Math.tanh(-4)), 1, -1]);
    expect(Object.is(tanh[1], -0)).toBe(true);
    const erf = await run('wasm', (t) => tf.erf(t), specials);
    expect(Array.from(erf.slice(0, 5))).toEqual([0, -0, 1, -1, NaN]);
    expect(Object.is(erf[1], -0)).toBe(true);
    expect(Array.from(erf.slice(7))).toEqual([1, -1, 1, -1, 1, -1, 1, -1]);
    // A subnormal input: 2/sqrt(pi) x, to the subnormal spacing.
    expect(Math.abs(erf[5] - (2 / Math.sqrt(Math.PI)) * specials[5])).toBeLessThanOrEqual(2 ** -149);
    const exp = await run('wasm', (t) => tf.exp(t), Float32Array.from([0, -0, Infinity, -Infinity, NaN, 1e-40, 88.72, 88.73, -87.5, -103.9, -104, -1e30, 1e30]));
    expect(Array.from(exp.slice(0, 6))).toEqual([1, 1, Infinity, 0, NaN, 1]);
    expect(exp[6]).toBe(Math.fround(Math.exp(Math.fround(88.72))));
    expect(exp[7]).toBe(Infinity);
    expect(exp[8]).toBe(Math.fround(Math.exp(Math.fround(-87.5))));
    expect(exp[9]).toBe(Math.fround(Math.exp(Math.fround(-103.9))));
    expect(Array.from(exp.slice(10))).toEqual([0, 0, Infinity]);
  });

  it.each([[[0]], [[1]], [[3]], [[5]], [[7, 3]], [[2, 0, 4]], [[64, 13, 128]], [[1, 1, 1, 9]]])('shape %j: equal to the cpu backend elementwise within bounds, no leaks', async (shape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
    for (const op of [tf.tanh, tf.exp, tf.erf]) {
      const fn = (t: tf.Tensor) => op(t.reshape(shape)).reshape([-1]);
      const wasm = await run('wasm', fn, values);
      const cpu = await run('cpu', fn, values);
      expect(wasm.length).toBe(size);
      let worst = 0;
      for (let i = 0; i < size; i++) worst = Math.max(worst, Math.abs(wasm[i] - cpu[i]) / Math.max(1, Math.abs(cpu[i])));
      expect(worst).toBeLessThanOrEqual(3e-7);
    }
  });

  it('non-float32 input goes to the stock kernel', async () => {
    await tf.setBackend('wasm');
    const out = tf.tidy(() => Array.from(tf.exp(tf.tensor1d([0, 1, 2], 'int32')).dataSync()));
    expect(out[0]).toBe(1);
    expect(out[2]).toBeCloseTo(Math.exp(2), 0);
  });
});

describe('Tanh and Erf gradients on wasm', () => {
  const x = Float32Array.from({ length: 1003 }, (_, i) => (i - 501) * 0.013);
  const dy = Float32Array.from({ length: 1003 }, (_, i) => Math.cos(i));
  const gradOf = (op: (t: tf.Tensor) => tf.Tensor) => (t: tf.Tensor) => tf.grad((v: tf.Tensor) => op(v))(t, tf.tensor1d(dy));

  it.each([['tanh', tf.tanh as (t: tf.Tensor) => tf.Tensor], ['erf', tf.erf as (t: tf.Tensor) => tf.Tensor]])('%s gradient matches the cpu backend', async (_name, op) => {
    const wasm = await run('wasm', gradOf(op), x);
    const cpu = await run('cpu', gradOf(op), x);
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(wasm[i] - cpu[i]) / Math.max(1, Math.abs(cpu[i])));
    expect(worst).toBeLessThanOrEqual(4e-7);
  });

  it('the fused gradient kernels run on wasm (one kernel each)', async () => {
    await tf.setBackend('wasm');
    const t = tf.tensor1d(x);
    for (const [op, kernel] of [[tf.tanh, TANH_GRAD_KERNEL], [tf.erf, ERF_GRAD_KERNEL]] as const) {
      const profile = await tf.profile(() => tf.tidy(() => tf.grad((v: tf.Tensor) => (op as (u: tf.Tensor) => tf.Tensor)(v))(t)));
      const names = profile.kernels.map((k) => k.name);
      expect(names).toContain(kernel);
      expect(names).not.toContain('Square');
    }
    t.dispose();
  });

  it('gradients of size-0 and size-1 tensors', async () => {
    for (const size of [0, 1]) {
      const v = Float32Array.from({ length: size }, () => 0.3);
      const wasm = await run('wasm', (t) => tf.grad((u: tf.Tensor) => tf.tanh(u).add(tf.erf(u)))(t), v);
      const cpu = await run('cpu', (t) => tf.grad((u: tf.Tensor) => tf.tanh(u).add(tf.erf(u)))(t), v);
      expect(wasm.length).toBe(size);
      if (size) expect(wasm[0]).toBeCloseTo(cpu[0], 6);
    }
  });
});

describe('registration', () => {
  it('unregistering puts the stock Tanh/Exp/Erf back and removes the gradient kernels; the gradients fall back to tfjs formulas', async () => {
    await tf.setBackend('wasm');
    const ours = tf.getKernel('Tanh', 'wasm')?.kernelFunc;
    expect(tf.getKernel(TANH_GRAD_KERNEL, 'wasm')).toBeDefined();
    unregisterWasmKernels();
    try {
      expect(tf.getKernel('Tanh', 'wasm')?.kernelFunc).not.toBe(ours);
      expect(tf.getKernel(TANH_GRAD_KERNEL, 'wasm')).toBeUndefined();
      expect(tf.getKernel(ERF_GRAD_KERNEL, 'wasm')).toBeUndefined();
      const v = Float32Array.from([-2, -0.5, 0, 0.5, 2]);
      const stock = await run('wasm', (t) => tf.grad((u: tf.Tensor) => tf.tanh(u).add(tf.erf(u)))(t), v);
      const cpu = await run('cpu', (t) => tf.grad((u: tf.Tensor) => tf.tanh(u).add(tf.erf(u)))(t), v);
      stock.forEach((s, i) => expect(s).toBeCloseTo(cpu[i], 6));
    } finally {
      registerWasmKernels();
    }
    await tf.setBackend('wasm');
    expect(tf.getKernel('Tanh', 'wasm')?.kernelFunc).toBe(ours);
  });
});
