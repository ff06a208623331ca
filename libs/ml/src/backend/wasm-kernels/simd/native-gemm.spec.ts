import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../../../data/rng';
import { initBackend } from '../../backend';
import { asWasmBackend, backendMemory, WasmBackend } from '../wasm-internals';
import { instantiateSimdKernels, relaxedSimdSupported, SimdKernels, simdKernels } from './index';
import { nativeGemmAddon, nativeGemmStatus } from './native-gemm';

/*
 * The native AVX2 GEMM against kernels.wat's relaxed build: the same products, each C element
 * started from 0, C or the bias and taking one fused multiply-add per depth step in depth order,
 * so the two must agree bit for bit on every shape, stride, tail and block boundary.
 */

const rng = new SeededRandom(2026);
function randomValues(size: number): Float32Array {
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.normal();
  return values;
}

function cpuHasAvx2AndFma(): boolean {
  if (process.arch !== 'x64') return false;
  try {
    const flags = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1].split(/\s+/) ?? [];
    return flags.includes('avx2') && flags.includes('fma');
  } catch {
    return false;
  }
}

let backend: WasmBackend;
let wasmOnly: SimdKernels;

beforeAll(async () => {
  await initBackend('wasm');
  backend = asWasmBackend(tf.backend());
  wasmOnly = instantiateSimdKernels(backend, 'relaxed', { nativeGemm: false });
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

const offsetOf = (t: tf.Tensor): number => backend.dataIdMap.get(t.dataId).memoryOffset;

describe('native GEMM status', () => {
  it('is active exactly where the addon is built, the CPU has AVX2 and FMA and relaxed SIMD runs', () => {
    const built = fs.existsSync(path.resolve(__dirname, '../../../../../../..', 'native/gemm/build/Release/tfleet_gemm.node'));
    const status = nativeGemmStatus();
    if (!cpuHasAvx2AndFma()) {
      expect(status.active).toBe(false);
      return;
    }
    // .ci/run builds it with --require on such a CPU; a missing build is a failed install.
    expect({ built, status }).toEqual({ built: true, status: { active: true, addonPath: expect.stringContaining('tfleet_gemm.node') } });
    expect(simdKernels(backend).gemm).toBe(relaxedSimdSupported() ? 'native-avx2' : 'wasm');
    expect(wasmOnly.gemm).toBe('wasm');
  });

  it('names the native GEMM in the wasm backend device text', async () => {
    const info = await initBackend('wasm');
    expect(info.device).toBe(simdKernels(backend).gemm === 'native-avx2' ? 'cpu (wasm simd, native AVX2 GEMM, 1 thread)' : 'cpu (wasm simd, 1 thread)');
  });
});

const native = nativeGemmAddon();
const describeNative = native && relaxedSimdSupported() ? describe : describe.skip;

describeNative('native GEMM against the wasm relaxed GEMM', () => {
  const kernels = (): SimdKernels => simdKernels(backend);

  interface Case {
    batch: number;
    m: number;
    n: number;
    k: number;
    transposeA: boolean;
    transposeB: boolean;
    broadcast: 'none' | 'a' | 'b';
    accumulate: boolean;
    bias: boolean;
  }
  const cases: Case[] = [];
  // rows around the 6-row tile and the 72-row block, columns around the 16-column panel and the
  // 1,024-column block, depth around the 256 block
  for (const m of [1, 5, 6, 7, 73]) {
    for (const n of [1, 15, 16, 17, 40]) {
      for (const k of [1, 9, 257]) {
        cases.push({ batch: 1, m, n, k, transposeA: (m + k) % 2 === 0, transposeB: (n + k) % 3 === 0, broadcast: 'none', accumulate: n % 2 === 0, bias: n % 5 === 0 });
      }
    }
  }
  cases.push({ batch: 3, m: 13, n: 33, k: 20, transposeA: false, transposeB: true, broadcast: 'b', accumulate: false, bias: true });
  cases.push({ batch: 2, m: 9, n: 1030, k: 300, transposeA: true, transposeB: false, broadcast: 'a', accumulate: true, bias: false });
  cases.push({ batch: 4, m: 100, n: 32, k: 100, transposeA: false, transposeB: false, broadcast: 'none', accumulate: false, bias: false });
  cases.push({ batch: 1, m: 128, n: 256, k: 600, transposeA: true, transposeB: false, broadcast: 'none', accumulate: false, bias: false });

  it.each(cases)('%j', (c) => {
    const { batch, m, n, k } = c;
    const [aRows, aCols] = c.transposeA ? [k, m] : [m, k];
    const [bRows, bCols] = c.transposeB ? [n, k] : [k, n];
    const aSlices = c.broadcast === 'a' ? 1 : batch;
    const bSlices = c.broadcast === 'b' ? 1 : batch;
    const a = tf.tensor1d(randomValues(aSlices * aRows * aCols));
    const b = tf.tensor1d(randomValues(bSlices * bRows * bCols));
    const bias = tf.tensor1d(randomValues(n));
    const start = randomValues(batch * m * n);
    const viaNative = tf.tensor1d(start);
    const viaWasm = tf.tensor1d(start);
    const [rsA, csA] = c.transposeA ? [1, m] : [k, 1];
    const [rsB, csB] = c.transposeB ? [1, k] : [n, 1];
    for (const [target, instance] of [
      [viaNative, kernels()],
      [viaWasm, wasmOnly],
    ] as const) {
      instance.exports.gemm_bias(
        batch,
        m,
        n,
        k,
        offsetOf(a),
        c.broadcast === 'a' ? 0 : m * k,
        rsA,
        csA,
        offsetOf(b),
        c.broadcast === 'b' ? 0 : k * n,
        rsB,
        csB,
        offsetOf(target),
        m * n,
        n,
        c.accumulate ? 1 : 0,
        c.bias ? offsetOf(bias) : 0,
        instance.scratch(instance.exports.scratch_bytes(n, k)),
      );
    }
    const nativeValues = viaNative.dataSync();
    expect(Array.from(nativeValues)).toEqual(Array.from(viaWasm.dataSync()));
    // and it is not the untouched start
    expect(Array.from(nativeValues)).not.toEqual(Array.from(start));
    tf.dispose([a, b, bias, viaNative, viaWasm]);
  });

  // pack_b's destination on the wasm heap is 16-byte aligned, and a 32-byte aligned AVX load of
  // it faulted (a segfault of the whole worker): both alignments, several blocks.
  it.each([
    [64, 512, 128, 0],
    [64, 512, 128, 16],
    [7, 1030, 300, 16],
    [33, 13, 5, 16],
  ])('gemm_packed m %i n %i k %i with the packed B at 32-byte offset +%i equals the wasm gemm bit for bit', (m, n, k, misalign) => {
    const instance = kernels();
    const bytes = instance.exports.packed_bytes(n, k);
    expect(bytes).toBeGreaterThanOrEqual(n * k * 4);
    const b = tf.tensor1d(randomValues(k * n));
    const packed = tf.tensor1d(new Float32Array(bytes / 4 + 16).fill(7));
    const packedAt = ((offsetOf(packed) + 31) & ~31) + misalign;
    instance.exports.pack_b(offsetOf(b), n, 1, k, n, packedAt);
    const a = tf.tensor1d(randomValues(m * k));
    const start = randomValues(m * n);
    const viaPacked = tf.tensor1d(start);
    const viaWasm = tf.tensor1d(start);
    instance.exports.gemm_packed(m, n, k, offsetOf(a), k, 1, packedAt, offsetOf(viaPacked), n, 1, 0);
    wasmOnly.exports.gemm(1, m, n, k, offsetOf(a), 0, k, 1, offsetOf(b), 0, n, 1, offsetOf(viaWasm), 0, n, 1, wasmOnly.scratch(wasmOnly.exports.scratch_bytes(n, k)));
    expect(Array.from(viaPacked.dataSync())).toEqual(Array.from(viaWasm.dataSync()));
    // pack_b wrote exactly packed_bytes: the guard after it is intact
    const guard = packed.dataSync().subarray((packedAt - offsetOf(packed) + bytes) / 4);
    expect(guard.length).toBeGreaterThan(0);
    expect(Array.from(guard).every((v) => v === 7)).toBe(true);
    tf.dispose([a, b, packed, viaPacked, viaWasm]);
  });

  it('refuses an operand that reaches past the heap with a RangeError and writes nothing', () => {
    const addon = native;
    if (!addon) throw new Error('unreachable: describeNative runs only with the addon');
    const heap = backendMemory(backend)?.buffer as ArrayBuffer;
    const a = tf.tensor1d(randomValues(16));
    const out = tf.tensor1d(new Float32Array(16).fill(3));
    const args = (c: number, m: number): Int32Array => Int32Array.from([1, m, 4, 4, offsetOf(a), 0, 4, 1, offsetOf(a), 0, 4, 1, c, 0, 4, 0, 0, 0]);
    expect(() => addon.gemm(heap, args(heap.byteLength - 32, 4))).toThrow(/C lies outside the heap/);
    // (the addon's RangeError is the main realm's, not jest's: matched by message)
    expect(() => addon.gemm(heap, args(offsetOf(out), 1 << 28))).toThrow(/A lies outside the heap/);
    expect(() => addon.gemm(heap, Int32Array.from([1, 2]))).toThrow(/Int32Array/);
    expect(() => addon.packB(heap, Int32Array.from([offsetOf(a), 4, 1, 4, 4, heap.byteLength - 8]))).toThrow(/destination lies outside the heap/);
    expect(Array.from(out.dataSync())).toEqual(new Array(16).fill(3));
    tf.dispose([a, out]);
  });
});

describeNative('native GEMM in worker threads', () => {
  // Node unloads an addon that only a worker thread loaded when that worker exits. The first
  // build kept its packing buffers in thread-local storage with a pthread destructor, which then
  // ran on unloaded code: every rank thread's exit was a SIGSEGV of the whole worker process
  // (the cold-start bench found it; jest's main thread holds the addon, so it runs in a child).
  it('loaded only by worker threads, survives their exit and reloads in the next one', () => {
    const modulePath = path.join(__dirname, 'native-gemm.js');
    const script = `
      const { Worker } = require('node:worker_threads');
      const code = \`
        const { parentPort } = require('node:worker_threads');
        const addon = require(\${JSON.stringify(${JSON.stringify(modulePath)})}).nativeGemmAddon();
        const heap = new ArrayBuffer(256);
        const f = new Float32Array(heap);
        f.set([1, 2, 3, 4], 0); // A [2, 2] at byte 0
        f.set([5, 6, 7, 8], 4); // B [2, 2] at byte 16
        addon.gemm(heap, Int32Array.from([1, 2, 2, 2, 0, 0, 2, 1, 16, 0, 2, 1, 32, 0, 2, 0, 0, 0]));
        parentPort.postMessage(Array.from(f.subarray(8, 12)));
      \`;
      const runOne = () => new Promise((resolve, reject) => {
        const w = new Worker(code, { eval: true });
        let result = null;
        w.on('message', (m) => { result = m; });
        w.on('error', reject);
        w.on('exit', (code) => (code === 0 ? resolve(result) : reject(new Error('worker exit ' + code))));
      });
      (async () => {
        const first = await runOne();
        const second = await runOne();
        console.log(JSON.stringify([first, second]));
      })().catch((e) => { console.error(e); process.exit(1); });
    `;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect({ signal: child.signal, status: child.status, stderr: child.stderr }).toEqual({ signal: null, status: 0, stderr: '' });
    expect(JSON.parse(child.stdout)).toEqual([
      [19, 22, 43, 50],
      [19, 22, 43, 50],
    ]);
  });
});
