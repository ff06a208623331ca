import { backendMemory, WasmBackend, wasmApi } from '../wasm-internals';
import * as v8 from 'node:v8';
import { KERNELS_PORTABLE_WASM_BASE64, KERNELS_RELAXED_WASM_BASE64 } from './kernels-wasm';
import { wasmRelaxedSimdAllowed } from '@tfleet/config';
import type { GemmEntryPoints } from './gemm-entry-points';
import { nativeGemmAddon, withNativeGemm } from './native-gemm';

/**
 * Loader of the project's hand-written SIMD kernels (kernels.wat). The module imports the tfjs
 * wasm backend's own WebAssembly.Memory, so its functions run on tensors where they live on the
 * backend's heap: no copies in or out. One instance per backend instance, i.e. per worker thread
 * (each thread has its own backend and heap).
 *
 * The heap can grow (and its ArrayBuffer be replaced) during any tfjs call, so nothing here keeps
 * an ArrayBuffer or typed array: callers pass byte offsets, the wasm code addresses the memory.
 */

/** The exports of kernels.wat. Pointers are byte offsets into the backend heap; sizes and strides are float32 elements. */
export interface SimdKernelExports extends GemmEntryPoints {
  /** Copies the n floats at `src` into each of `rows` consecutive n-float rows at `dst`. */
  fill_rows(dst: number, rows: number, n: number, src: number): void;
  /** out[j] = sum over r < rows of x[r * cols + j] (rows >= 1). */
  sum_rows(x: number, rows: number, cols: number, out: number): void;
  /**
   * Copies row ids[i] of src (numRows rows of rowBytes bytes; ids are int32) to row i of dst for
   * i < count. Returns -1, or the position of the first out-of-range id (copying stops there).
   */
  gather_rows(src: number, numRows: number, rowBytes: number, ids: number, count: number, dst: number): number;
  /**
   * Layer normalisation over the last axis of [rows, cols] x: y = (x - mean) * rstd * gamma + beta,
   * also writing the per-row mean and rstd = 1 / sqrt(var + eps) ([rows] each).
   */
  layer_norm(x: number, rows: number, cols: number, gamma: number, beta: number, eps: number, y: number, mean: number, rstd: number): void;
  /**
   * One Adam step over n float32 parameters in tfjs' operation order, writing the new value and
   * moments to the out pointers (c1 = 1 - beta1^t, c2 = 1 - beta2^t; oneMinusBeta1/2 as tfjs rounds them).
   */
  adam(
    value: number,
    m: number,
    v: number,
    g: number,
    n: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    lr: number,
    c1: number,
    c2: number,
    eps: number,
    outValue: number,
    outM: number,
    outV: number,
  ): void;
  /** Softmax gradient over rows of [rows, cols] probabilities: ds = p * (dp - sum(dp * p)). */
  softmax_grad(p: number, dp: number, rows: number, cols: number, ds: number): void;
  /**
   * Softmax cross-entropy of [rows, cols] logits against int32 labels ([rows]): loss[r] =
   * logsumexp(x[r]) - x[r, label]; also e = exp(x - rowmax) and inv[r] = 1 / sum(e[r]) for
   * xent_grad. A label outside [0, cols) gives loss 0 and inv 0.
   */
  softmax_xent(x: number, labels: number, rows: number, cols: number, loss: number, e: number, inv: number): void;
  /** out[r, j] = (e[r, j] * inv[r] - [j == labels[r]]) * dy[r]: softmax_xent's gradient times dy. */
  xent_grad(e: number, inv: number, labels: number, dy: number, rows: number, cols: number, out: number): void;
  /** Gradient of layer_norm: dx [rows, cols], dgamma and dbeta [cols], from dy, x and the saved mean and rstd. */
  layer_norm_grad(dy: number, x: number, rows: number, cols: number, gamma: number, mean: number, rstd: number, dx: number, dgamma: number, dbeta: number): void;
}

export interface SimdKernels {
  readonly exports: SimdKernelExports;
  /** The build of kernels.wat this instance runs. */
  readonly build: SimdKernelsBuild;
  /** Where its GEMM entry points run. */
  readonly gemm: GemmEngine;
  /**
   * A 16-byte aligned heap block of at least `bytes` bytes, owned by this instance and reused by
   * every kernel call on this thread (valid until the next `scratch` call; not a tensor).
   */
  scratch(bytes: number): number;
}

interface EmscriptenHeap {
  _malloc?: (bytes: number) => number;
  _free?: (pointer: number) => void;
}


/**
 * Which build of kernels.wat this process runs: 'relaxed' (fused multiply-add through relaxed
 * SIMD) or 'portable'. Relaxed SIMD is on by default from Node 22; Node 20's V8 (11.3) has it
 * complete but behind --experimental-wasm-relaxed-simd, which is switched on here if needed
 * (a V8 flag read when a module is validated or compiled; it adds instructions and changes
 * nothing else). TFLEET_WASM_RELAXED_SIMD=0 forces the portable build (A/B runs, tests).
 */
export type SimdKernelsBuild = 'relaxed' | 'portable';

let chosenBuild: SimdKernelsBuild | null = null;
const compiled = new Map<SimdKernelsBuild, object>();

function buildBytes(build: SimdKernelsBuild): Uint8Array {
  return Buffer.from(build === 'relaxed' ? KERNELS_RELAXED_WASM_BASE64 : KERNELS_PORTABLE_WASM_BASE64, 'base64');
}

let relaxedSupported: boolean | null = null;

/** Whether this engine compiles relaxed SIMD (switching Node 20's flag on when needed). */
export function relaxedSimdSupported(): boolean {
  if (relaxedSupported === null) {
    const relaxed = buildBytes('relaxed');
    if (!wasmApi.validate(relaxed)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    relaxedSupported = wasmApi.validate(relaxed);
  }
  return relaxedSupported;
}

export function simdKernelsBuild(): SimdKernelsBuild {
  chosenBuild ??= wasmRelaxedSimdAllowed() && relaxedSimdSupported() ? 'relaxed' : 'portable';
  return chosenBuild;
}

function kernelsModule(build: SimdKernelsBuild): object {
  let module = compiled.get(build);
  if (!module) {
    module = new wasmApi.Module(buildBytes(build));
    compiled.set(build, module);
  }
  return module;
}

/**
 * One GEMM call as the roofline bench records it: sizes, and each operand's element strides
 * (a transposed operand has row stride 1). `packed` calls multiply by a B that pack_b packed.
 */
export interface GemmCall {
  entry: 'gemm' | 'gemm_bias' | 'gemm_packed';
  batch: number;
  m: number;
  n: number;
  k: number;
  aRowStride: number;
  aColStride: number;
  /** B's strides; 0 and 0 for gemm_packed (its B was packed by an earlier pack_b). */
  bRowStride: number;
  bColStride: number;
  /** 0 when every slice shares A or B (a broadcast batch), else 1. */
  aBatched: number;
  bBatched: number;
}

class LoadedSimdKernels implements SimdKernels {
  private scratchPointer = 0;
  private scratchBytes = 0;
  /** The instance's own exports; `exports` is these, or a recording wrapper of them. */
  readonly raw: SimdKernelExports;
  exports: SimdKernelExports;

  constructor(
    exports: SimdKernelExports,
    readonly build: SimdKernelsBuild,
    /** Where the GEMM entry points run. */
    readonly gemm: GemmEngine,
    private readonly heap: Required<Pick<EmscriptenHeap, '_malloc' | '_free'>>,
  ) {
    this.raw = exports;
    this.exports = exports;
  }

  /**
   * Reports every gemm, gemm_bias and gemm_packed call to `onCall` (null stops). Only the
   * roofline bench records; callers read `exports` at each call, so they see the wrapper.
   */
  recordGemm(onCall: ((call: GemmCall) => void) | null): void {
    if (!onCall) {
      this.exports = this.raw;
      return;
    }
    const raw = this.raw;
    // The instance's exports object is frozen: copy its functions, replacing the three GEMMs.
    const wrapped: SimdKernelExports = { ...raw };
    wrapped.gemm = (batch, m, n, k, a, aB, rsA, csA, b, bB, rsB, csB, c, cB, ldc, acc, scratch) => {
      onCall({ entry: 'gemm', batch, m, n, k, aRowStride: rsA, aColStride: csA, bRowStride: rsB, bColStride: csB, aBatched: aB ? 1 : 0, bBatched: bB ? 1 : 0 });
      raw.gemm(batch, m, n, k, a, aB, rsA, csA, b, bB, rsB, csB, c, cB, ldc, acc, scratch);
    };
    wrapped.gemm_bias = (batch, m, n, k, a, aB, rsA, csA, b, bB, rsB, csB, c, cB, ldc, acc, bias, scratch) => {
      onCall({ entry: 'gemm_bias', batch, m, n, k, aRowStride: rsA, aColStride: csA, bRowStride: rsB, bColStride: csB, aBatched: aB ? 1 : 0, bBatched: bB ? 1 : 0 });
      raw.gemm_bias(batch, m, n, k, a, aB, rsA, csA, b, bB, rsB, csB, c, cB, ldc, acc, bias, scratch);
    };
    wrapped.gemm_packed = (m, n, k, a, rsA, csA, packed, c, ldc, acc, scratch) => {
      onCall({ entry: 'gemm_packed', batch: 1, m, n, k, aRowStride: rsA, aColStride: csA, bRowStride: 0, bColStride: 0, aBatched: 0, bBatched: 0 });
      raw.gemm_packed(m, n, k, a, rsA, csA, packed, c, ldc, acc, scratch);
    };
    this.exports = wrapped;
  }

  scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (this.scratchPointer) this.heap._free(this.scratchPointer);
      // Grow geometrically so a sequence of rising sizes does not reallocate every time.
      const size = Math.max(bytes, this.scratchBytes * 2, 4096);
      const pointer = this.heap._malloc(size + 16);
      if (!pointer) throw new Error(`tfleet simd kernels: could not allocate ${size} bytes of scratch on the wasm heap`);
      this.scratchPointer = pointer;
      this.scratchBytes = size;
    }
    return (this.scratchPointer + 15) & ~15;
  }
}

const instances = new WeakMap<object, LoadedSimdKernels>();

/** Bench hook: reports this backend's GEMM calls to `onCall` until called with null. */
export function recordGemmCalls(backend: WasmBackend, onCall: ((call: GemmCall) => void) | null): void {
  simdKernelsInstance(backend).recordGemm(onCall);
}

/** This backend's instance of the SIMD kernels, instantiated on first use. */
export function simdKernels(backend: WasmBackend): SimdKernels {
  return simdKernelsInstance(backend);
}

function simdKernelsInstance(backend: WasmBackend): LoadedSimdKernels {
  let kernels = instances.get(backend);
  if (!kernels) {
    kernels = instantiateSimdKernels(backend, simdKernelsBuild());
    instances.set(backend, kernels);
  }
  return kernels;
}

/** Which GEMM an instance multiplies on: kernels.wat's, or the native AVX2 one (native-gemm.ts). */
export type GemmEngine = 'wasm' | 'native-avx2';

/**
 * A new instance of the given build on this backend's heap (tests compare the two builds). With
 * the relaxed build its GEMM entry points run on the native GEMM where that is active (same
 * float32 results: one fused multiply-add per depth step, in depth order); `nativeGemm: false`
 * keeps them on wasm (tests compare the two). The portable build always multiplies in wasm.
 */
export function instantiateSimdKernels(backend: WasmBackend, build: SimdKernelsBuild, options: { nativeGemm?: boolean } = {}): LoadedSimdKernels {
  const heap = backend.wasm as unknown as EmscriptenHeap;
  const memory = backendMemory(backend);
  if (!memory || typeof heap._malloc !== 'function' || typeof heap._free !== 'function') {
    throw new Error(
      'tfleet simd kernels need the tfjs-backend-wasm 4.22 internals backend.wasm.asm.memory (a WebAssembly.Memory), ' +
        'backend.wasm._malloc and backend.wasm._free; this tfjs-backend-wasm build does not have them',
    );
  }
  const instance = new wasmApi.Instance(kernelsModule(build), { env: { memory } });
  const wasmExports = instance.exports as unknown as SimdKernelExports;
  // The addon reads the heap through an ArrayBuffer; a shared (threaded) wasm memory is not one.
  // Tested by tag, not instanceof: under jest the memory comes from another realm.
  const plainBuffer = Object.prototype.toString.call(memory.buffer) === '[object ArrayBuffer]';
  const native = build === 'relaxed' && options.nativeGemm !== false && plainBuffer ? nativeGemmAddon() : null;
  const exports = native ? withNativeGemm(wasmExports, memory, native) : wasmExports;
  return new LoadedSimdKernels(exports, build, native ? 'native-avx2' : 'wasm', { _malloc: heap._malloc, _free: heap._free });
}

/** The GEMM this backend's kernels multiply on (the run's device text names it). */
export function simdGemmEngine(backend: WasmBackend): GemmEngine {
  return simdKernelsInstance(backend).gemm;
}
