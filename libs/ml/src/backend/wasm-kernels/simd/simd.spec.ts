import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../../../data/rng';
import { initBackend } from '../../backend';
import { asWasmBackend, WasmBackend } from '../wasm-internals';
import { GemmCall, instantiateSimdKernels, recordGemmCalls, relaxedSimdSupported, SimdKernels, SimdKernelsBuild, simdKernels } from './index';
import { KERNELS_PORTABLE_WASM_BASE64, KERNELS_RELAXED_WASM_BASE64 } from './kernels-wasm';
import { buildKernels, compileWat, GENERATED_FILE_NAME, portableSource, simdSourceDir } from './wat-compiler';
import { relativeError } from '@tfleet/testing';

const rng = new SeededRandom(99);
function randomValues(size: number): Float32Array {
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.normal();
  return values;
}


/** Plain float64 reference of one slice: C[i, j] = sum_p A(i, p) B(p, j) with strided operands. */
function referenceGemm(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOffset: number,
  rsA: number,
  csA: number,
  b: Float32Array,
  bOffset: number,
  rsB: number,
  csB: number,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[aOffset + i * rsA + p * csA] * b[bOffset + p * rsB + j * csB];
      c[i * n + j] = s;
    }
  }
  return c;
}

let backend: WasmBackend;

beforeAll(async () => {
  await initBackend('wasm');
  backend = asWasmBackend(tf.backend());
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

const offsetOf = (t: tf.Tensor): number => backend.dataIdMap.get(t.dataId).memoryOffset;

describe('kernels.wat build', () => {
  it('the committed kernels-wasm.ts is a fresh compile of kernels.wat (run `npm run build:wasm-kernels` after editing the .wat)', async () => {
    const { relaxed, portable, moduleSource } = await buildKernels();
    expect(Buffer.from(KERNELS_RELAXED_WASM_BASE64, 'base64').equals(Buffer.from(relaxed))).toBe(true);
    expect(Buffer.from(KERNELS_PORTABLE_WASM_BASE64, 'base64').equals(Buffer.from(portable))).toBe(true);
    expect(fs.readFileSync(path.join(simdSourceDir(), GENERATED_FILE_NAME), 'utf8')).toBe(moduleSource);
  });

  it('the portable source has every relaxed_madd rewritten as mul + add, nested operands included', () => {
    const source = '(f32x4.relaxed_madd (local.get $a) (v128.load offset=16 (local.get $p)) (f32x4.relaxed_madd $x $y $z))';
    expect(portableSource(source)).toBe('(f32x4.add (f32x4.add $z (f32x4.mul $x $y)) (f32x4.mul (local.get $a) (v128.load offset=16 (local.get $p))))');
    expect(() => portableSource('(f32x4.relaxed_madd $a $b)')).toThrow(/three operands/);
  });

  it('compile errors name the file and line', async () => {
    await expect(compileWat('(module (func (result i32) (i32.add)))', 'broken.wat')).rejects.toThrow(/broken\.wat:1/);
  });
});

describe('simdKernels loader', () => {
  it('is one instance per backend, sharing the backend heap, with fused multiply-add unless disabled', () => {
    const kernels = simdKernels(backend);
    expect(simdKernels(backend)).toBe(kernels);
    // Node 22+ has relaxed SIMD; on Node 20 the loader switches V8's flag on.
    expect(kernels.build).toBe(process.env['TFLEET_WASM_RELAXED_SIMD'] === '0' ? 'portable' : 'relaxed');
    // fill_rows writes through the imported memory straight into a tensor.
    const src = tf.tensor1d([1, 2, 3]);
    const dst = tf.zeros([2, 3]);
    kernels.exports.fill_rows(offsetOf(dst), 2, 3, offsetOf(src));
    expect(Array.from(dst.dataSync())).toEqual([1, 2, 3, 1, 2, 3]);
    tf.dispose([src, dst]);
  });

  it('recordGemmCalls reports each GEMM call (sizes, strides) and, switched off, leaves the exports as they were', () => {
    const kernels = simdKernels(backend);
    const raw = kernels.exports;
    const a = tf.tensor1d(randomValues(3 * 4));
    const b = tf.tensor1d(randomValues(5 * 4));
    const viaRecorder = tf.zeros([15]);
    const direct = tf.zeros([15]);
    const calls: GemmCall[] = [];
    recordGemmCalls(backend, (call) => calls.push(call));
    try {
      expect(kernels.exports).not.toBe(raw);
      // A [3, 4] row-major times B transposed (stored [5, 4])
      kernels.exports.gemm(1, 3, 5, 4, offsetOf(a), 0, 4, 1, offsetOf(b), 0, 1, 4, offsetOf(viaRecorder), 0, 5, 0, kernels.scratch(kernels.exports.scratch_bytes(5, 4)));
    } finally {
      recordGemmCalls(backend, null);
    }
    expect(kernels.exports).toBe(raw);
    kernels.exports.gemm(1, 3, 5, 4, offsetOf(a), 0, 4, 1, offsetOf(b), 0, 1, 4, offsetOf(direct), 0, 5, 0, kernels.scratch(kernels.exports.scratch_bytes(5, 4)));
    expect(calls).toEqual([{ entry: 'gemm', batch: 1, m: 3, n: 5, k: 4, aRowStride: 4, aColStride: 1, bRowStride: 1, bColStride: 4, aBatched: 0, bBatched: 0 }]);
    expect(Array.from(viaRecorder.dataSync())).toEqual(Array.from(direct.dataSync()));
    tf.dispose([a, b, viaRecorder, direct]);
  });

  it('fails with a clear error when the backend internals are not there', () => {
    const fake = { ...backend, wasm: { ...backend.wasm, asm: {} } } as unknown as WasmBackend;
    expect(() => simdKernels(fake)).toThrow(/backend\.wasm\.asm\.memory/);
  });

  it('scratch is 16-byte aligned and grows', () => {
    const kernels = simdKernels(backend);
    const small = kernels.scratch(64);
    expect(small % 16).toBe(0);
    const large = kernels.scratch(1 << 20);
    expect(large % 16).toBe(0);
    expect(kernels.scratch(100)).toBe(large);
  });
});

describe('gemm on strided operands', () => {
  interface Case {
    batch: number;
    m: number;
    n: number;
    k: number;
    transposeA: boolean;
    transposeB: boolean;
    broadcast: 'none' | 'a' | 'b';
    /** extra elements at the end of every operand row (leading dimension > row length). */
    pad: number;
    accumulate: boolean;
  }
  const cases: Case[] = [];
  const sizes: Array<[number, number, number]> = [
    [1, 1, 1],
    [1, 9, 1],
    [5, 1, 3],
    [4, 8, 1],
    [3, 5, 7],
    [9, 17, 13],
    [64, 64, 32],
    [67, 70, 300], // k over one depth block (256)
    [6, 530, 5], // n over one column block (512)
    [130, 12, 9], // m over one row block (64)
  ];
  for (const [m, n, k] of sizes) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        cases.push({ batch: 1, m, n, k, transposeA, transposeB, broadcast: 'none', pad: 0, accumulate: false });
      }
    }
  }
  for (const broadcast of ['none', 'a', 'b'] as const) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        cases.push({ batch: 5, m: 7, n: 11, k: 6, transposeA, transposeB, broadcast, pad: 0, accumulate: false });
      }
    }
  }
  cases.push({ batch: 3, m: 9, n: 10, k: 11, transposeA: false, transposeB: false, broadcast: 'none', pad: 3, accumulate: false });
  cases.push({ batch: 2, m: 9, n: 10, k: 11, transposeA: true, transposeB: true, broadcast: 'none', pad: 2, accumulate: true });
  cases.push({ batch: 1, m: 70, n: 20, k: 600, transposeA: false, transposeB: true, broadcast: 'b', pad: 1, accumulate: true });
  // B transposed with a row stride past its depth (per-head attention operands): SIMD-transposed packing.
  cases.push({ batch: 2, m: 5, n: 16, k: 10, transposeA: false, transposeB: true, broadcast: 'none', pad: 5, accumulate: false });

  const builds: SimdKernelsBuild[] = relaxedSimdSupported() ? ['relaxed', 'portable'] : ['portable'];
  const instances = new Map<string, SimdKernels>();
  const instance = (build: SimdKernelsBuild): SimdKernels => {
    let kernels = instances.get(build);
    if (!kernels) {
      kernels = instantiateSimdKernels(backend, build);
      instances.set(build, kernels);
    }
    return kernels;
  };

  it.each(builds.flatMap((build) => cases.map((c) => [build, c] as const)))('%s build: %j', (build, c) => {
    const { batch, m, n, k, transposeA, transposeB } = c;
    // Stored shapes per slice: A is [m, k] or [k, m]; B is [k, n] or [n, k]; rows padded by `pad`.
    const [aRows, aCols] = transposeA ? [k, m] : [m, k];
    const [bRows, bCols] = transposeB ? [n, k] : [k, n];
    const lda = aCols + c.pad;
    const ldb = bCols + c.pad;
    const aSlices = c.broadcast === 'a' ? 1 : batch;
    const bSlices = c.broadcast === 'b' ? 1 : batch;
    const aValues = randomValues(aSlices * aRows * lda);
    const bValues = randomValues(bSlices * bRows * ldb);
    const cValues = randomValues(batch * m * n);
    const a = tf.tensor1d(aValues);
    const b = tf.tensor1d(bValues);
    const out = tf.tensor1d(cValues);
    const kernels = instance(build);
    const [rsA, csA] = transposeA ? [1, lda] : [lda, 1];
    const [rsB, csB] = transposeB ? [1, ldb] : [ldb, 1];
    kernels.exports.gemm(
      batch,
      m,
      n,
      k,
      offsetOf(a),
      c.broadcast === 'a' ? 0 : aRows * lda,
      rsA,
      csA,
      offsetOf(b),
      c.broadcast === 'b' ? 0 : bRows * ldb,
      rsB,
      csB,
      offsetOf(out),
      m * n,
      n,
      c.accumulate ? 1 : 0,
      kernels.scratch(kernels.exports.scratch_bytes(n, k)),
    );
    const actual = out.dataSync() as Float32Array;
    const expected = new Float32Array(batch * m * n);
    for (let s = 0; s < batch; s++) {
      const slice = referenceGemm(
        m,
        n,
        k,
        aValues,
        c.broadcast === 'a' ? 0 : s * aRows * lda,
        rsA,
        csA,
        bValues,
        c.broadcast === 'b' ? 0 : s * bRows * ldb,
        rsB,
        csB,
      );
      for (let i = 0; i < m * n; i++) expected[s * m * n + i] = slice[i] + (c.accumulate ? cValues[s * m * n + i] : 0);
    }
    expect(relativeError(actual, expected)).toBeLessThan(1e-5 * Math.max(1, Math.sqrt(k)));
    // Nothing outside the output was written: the inputs are unchanged.
    expect(Buffer.from((a.dataSync() as Float32Array).buffer).equals(Buffer.from(aValues.buffer))).toBe(true);
    expect(Buffer.from((b.dataSync() as Float32Array).buffer).equals(Buffer.from(bValues.buffer))).toBe(true);
    tf.dispose([a, b, out]);
  });

  it.each([
    [3, 6, 13, 7, false],
    [2, 9, 16, 300, true],
    [1, 5, 530, 4, false],
  ])('gemm_bias batch %i m %i n %i k %i (transposeB %s) equals fill_rows + accumulating gemm, bit for bit', (batch, m, n, k, transposeB) => {
    const kernels = simdKernels(backend);
    const a = tf.tensor1d(randomValues(batch * m * k));
    const b = tf.tensor1d(randomValues(batch * k * n));
    const bias = tf.tensor1d(randomValues(n));
    const fused = tf.tensor1d(new Float32Array(batch * m * n));
    const filled = tf.tensor1d(new Float32Array(batch * m * n));
    const scratch = kernels.scratch(kernels.exports.scratch_bytes(n, k));
    const [rsB, csB] = transposeB ? [1, k] : [n, 1];
    kernels.exports.gemm_bias(batch, m, n, k, offsetOf(a), m * k, k, 1, offsetOf(b), k * n, rsB, csB, offsetOf(fused), m * n, n, 0, offsetOf(bias), scratch);
    kernels.exports.fill_rows(offsetOf(filled), batch * m, n, offsetOf(bias));
    kernels.exports.gemm(batch, m, n, k, offsetOf(a), m * k, k, 1, offsetOf(b), k * n, rsB, csB, offsetOf(filled), m * n, n, 1, scratch);
    const expected = filled.dataSync() as Float32Array;
    expect(Array.from(fused.dataSync())).toEqual(Array.from(expected));
    // and it is the product plus the bias
    const product = referenceGemm(m, n, k, a.dataSync() as Float32Array, 0, k, 1, b.dataSync() as Float32Array, 0, rsB, csB);
    const biasValues = bias.dataSync();
    expect(relativeError(expected.subarray(0, m * n), Float32Array.from(product, (v, i) => v + biasValues[i % n]))).toBeLessThan(1e-5 * Math.max(1, Math.sqrt(k)));
    tf.dispose([a, b, bias, fused, filled]);
  });

  it.each([
    // one block, as the recurrent kernels use it; n off the 8-column panels; several depth
    // blocks (k > 256); several column blocks (n > 512); m not a multiple of 4
    [32, 512, 128, false],
    [7, 13, 5, true],
    [32, 128, 512, true],
    [5, 530, 300, false],
    [64, 24, 24, true],
  ])('gemm_packed m %i n %i k %i (transposeB %s) equals gemm bit for bit, reusing one packing', (m, n, k, transposeB) => {
    const kernels = simdKernels(backend);
    const pad = 3;
    const ld = (transposeB ? k : n) + pad;
    const b = tf.tensor1d(randomValues((transposeB ? n : k) * ld));
    const [rsB, csB] = transposeB ? [1, ld] : [ld, 1];
    const bytes = kernels.exports.packed_bytes(n, k);
    expect(bytes).toBeGreaterThanOrEqual(n * k * 4);
    // A guard band after the packed block: pack_b writes exactly packed_bytes.
    const packed = tf.tensor1d(new Float32Array(bytes / 4 + 4 + 16).fill(7));
    const packedAt = (offsetOf(packed) + 15) & ~15;
    kernels.exports.pack_b(offsetOf(b), rsB, csB, k, n, packedAt);
    for (const accumulate of [0, 1]) {
      const a = tf.tensor1d(randomValues(m * k));
      const start = randomValues(m * n);
      const viaPacked = tf.tensor1d(start);
      const viaGemm = tf.tensor1d(start);
      kernels.exports.gemm_packed(m, n, k, offsetOf(a), k, 1, packedAt, offsetOf(viaPacked), n, accumulate, kernels.scratch(kernels.exports.scratch_bytes(0, 0)));
      kernels.exports.gemm(1, m, n, k, offsetOf(a), 0, k, 1, offsetOf(b), 0, rsB, csB, offsetOf(viaGemm), 0, n, accumulate, kernels.scratch(kernels.exports.scratch_bytes(n, k)));
      expect(Array.from(viaPacked.dataSync())).toEqual(Array.from(viaGemm.dataSync()));
      tf.dispose([a, viaPacked, viaGemm]);
    }
    const after = packed.dataSync().subarray((packedAt - offsetOf(packed) + bytes) / 4);
    expect(after.length).toBeGreaterThanOrEqual(16);
    expect(Array.from(after).every((v) => v === 7)).toBe(true);
    tf.dispose([b, packed]);
  });

  // A not row-major, with 512 rows or more (transposed) or fewer than 4, times a B of 64 columns
  // or more, is packed into 4-row micro-panels (zero padded past m) before the micro-kernel; any
  // other A is read in place. Both must add the same products in the same
  // order: the results are bit-identical, whatever m, n and k (odd, over the blocks), the
  // accumulate flag, the bias, or the entry point.
  it.each([
    [1, 1, 1, 1],
    [1, 3, 5, 7],
    [1, 3, 70, 9], // fewer than 4 rows, 64 columns or more: packed
    [1, 13, 12, 128],
    [1, 67, 9, 300],
    [2, 130, 21, 40],
    [3, 5, 530, 3],
    [1, 64, 256, 128],
    [1, 517, 9, 70], // fewer than 64 columns: in place
    // transposed with 512 rows or more and 64 columns or more: packed (m 517: the last row
    // block has 5 rows, one partial group; k 260: two depth blocks)
    [1, 517, 64, 70],
    [2, 600, 65, 260],
  ])('batch %i m %i n %i k %i: a transposed or strided A gives the row-major result bit for bit', (batch, m, n, k) => {
    const kernels = simdKernels(backend);
    const aValues = randomValues(batch * m * k);
    // the same A three ways: row-major [m, k], transposed [k, m], and every element two floats apart
    const transposed = new Float32Array(batch * m * k);
    const spread = new Float32Array(2 * batch * m * k);
    for (let s = 0; s < batch; s++) {
      for (let i = 0; i < m; i++) {
        for (let p = 0; p < k; p++) {
          const v = aValues[s * m * k + i * k + p];
          transposed[s * m * k + p * m + i] = v;
          spread[2 * (s * m * k + i * k + p)] = v;
        }
      }
    }
    const a = tf.tensor1d(aValues);
    const aT = tf.tensor1d(transposed);
    const aSpread = tf.tensor1d(spread);
    const b = tf.tensor1d(randomValues(k * n));
    const bias = tf.tensor1d(randomValues(n));
    const start = randomValues(batch * m * n);
    const scratch = (): number => kernels.scratch(kernels.exports.scratch_bytes(n, k));
    const run = (at: number, aBatch: number, rsA: number, csA: number, accumulate: number, biasAt: number): number[] => {
      const out = tf.tensor1d(start);
      kernels.exports.gemm_bias(batch, m, n, k, at, aBatch, rsA, csA, offsetOf(b), 0, n, 1, offsetOf(out), m * n, n, accumulate, biasAt, scratch());
      const values = Array.from(out.dataSync());
      out.dispose();
      return values;
    };
    for (const [accumulate, biasAt] of [
      [0, 0],
      [1, 0],
      [0, offsetOf(bias)],
    ]) {
      const rowMajor = run(offsetOf(a), m * k, k, 1, accumulate, biasAt);
      expect(run(offsetOf(aT), m * k, 1, m, accumulate, biasAt)).toEqual(rowMajor);
      expect(run(offsetOf(aSpread), 2 * m * k, 2 * k, 2, accumulate, biasAt)).toEqual(rowMajor);
    }
    // and the row-major result is the product
    const product = referenceGemm(m, n, k, aValues, 0, k, 1, b.dataSync() as Float32Array, 0, n, 1);
    expect(relativeError(Float32Array.from(run(offsetOf(a), m * k, k, 1, 0, 0).slice(0, m * n)), Float32Array.from(product))).toBeLessThan(1e-5 * Math.max(1, Math.sqrt(k)));
    if (batch === 1) {
      // gemm_packed with a transposed A: the same bits as gemm
      const packed = tf.tensor1d(new Float32Array(kernels.exports.packed_bytes(n, k) / 4 + 4));
      const packedAt = (offsetOf(packed) + 15) & ~15;
      kernels.exports.pack_b(offsetOf(b), n, 1, k, n, packedAt);
      const out = tf.tensor1d(start);
      kernels.exports.gemm_packed(m, n, k, offsetOf(aT), 1, m, packedAt, offsetOf(out), n, 1, kernels.scratch(kernels.exports.scratch_bytes(0, 0)));
      expect(Array.from(out.dataSync())).toEqual(run(offsetOf(a), m * k, k, 1, 1, 0));
      tf.dispose([packed, out]);
    }
    tf.dispose([a, aT, aSpread, b, bias]);
  });

  it('leaves the elements around the output untouched', () => {
    // C is the middle [3, 5] of a bigger buffer: a guard band before and after must survive.
    const guard = 16;
    const big = tf.tensor1d(new Float32Array(guard + 15 + guard).fill(7));
    const a = tf.tensor1d(randomValues(3 * 4));
    const b = tf.tensor1d(randomValues(4 * 5));
    const kernels = simdKernels(backend);
    kernels.exports.gemm(1, 3, 5, 4, offsetOf(a), 0, 4, 1, offsetOf(b), 0, 5, 1, offsetOf(big) + guard * 4, 15, 5, 0, kernels.scratch(kernels.exports.scratch_bytes(5, 4)));
    const values = big.dataSync();
    for (let i = 0; i < guard; i++) {
      expect(values[i]).toBe(7);
      expect(values[guard + 15 + i]).toBe(7);
    }
    tf.dispose([big, a, b]);
  });
});

describe('matMul through the simd GEMM matches cpu', () => {
  const shapes: Array<[number[], number[], boolean, boolean]> = [];
  for (const [aShape, bShape] of [
    [[1, 1], [1, 1]],
    [[2, 3, 1], [2, 1, 5]],
    [[128, 64, 32], [128, 32, 64]],
    [[33, 257], [257, 9]],
    [[4, 5, 6, 7], [4, 5, 7, 3]],
    [[6, 9, 4], [4, 10]],
    [[9, 4], [3, 4, 10]],
  ]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const swap = (s: number[], flag: boolean): number[] => (flag ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
        shapes.push([swap(aShape, ta), swap(bShape, tb), ta, tb]);
      }
    }
  }
  it.each(shapes)('a=%j b=%j transposeA=%s transposeB=%s', async (aShape, bShape, ta, tb) => {
    const aValues = randomValues(aShape.reduce((x, y) => x * y, 1));
    const bValues = randomValues(bShape.reduce((x, y) => x * y, 1));
    const results: Float32Array[] = [];
    for (const name of ['cpu', 'wasm']) {
      await tf.setBackend(name);
      const tensors = tf.memory().numTensors;
      const dataIds = tf.backend().numDataIds();
      const out = tf.tidy(() => tf.matMul(tf.tensor(aValues, aShape), tf.tensor(bValues, bShape), ta, tb));
      results.push(out.dataSync() as Float32Array);
      out.dispose();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.backend().numDataIds()).toBe(dataIds);
    }
    expect(relativeError(results[1], results[0])).toBeLessThan(2e-5);
  });
});
