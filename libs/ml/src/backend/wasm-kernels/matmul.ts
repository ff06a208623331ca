import * as tf from '@tensorflow/tfjs';
import { simdKernels } from './simd';
import { runStock } from './stock-kernels';
import { asWasmBackend, disposeAll, heapOffset, KernelArgs, sizeOf, WasmBackend } from './wasm-internals';

/*
 * tfjs-backend-wasm runs a matmul on XNNPACK only when it is a single 2-D product with no
 * transpose flag; everything else (every dense-layer gradient, every attention matmul) falls
 * onto a naive loop about 15x slower, and even the XNNPACK path creates (and packs the weights
 * of) an operator per distinct b tensor, ~70 µs for a small slice.
 *
 * These kernels run every float32 product on the project's SIMD GEMM (simd/kernels.wat) instead:
 * transposes are stride swaps (no Transpose copy), batch slices and broadcast batches are
 * handled inside one wasm call (no per-slice operator), and the result is written straight
 * into the output tensor on the heap.
 *
 * Crossover against XNNPACK, measured on the 2-core bench machine (GFLOPS, simd vs XNNPACK with
 * its operator already cached for the same b, i.e. XNNPACK's best case):
 *   128 x [64,32]x[32,64]ᵀ (attention scores)  30.2 vs 2.3 (stock per-slice loop)
 *   [2048,128]x[128,128]                        39.8 vs 29.9
 *   [128,2048]ᵀx[2048,128] (weight gradient)    35.1 vs 2.5 (stock transposed loop)
 *   [512,512]x[512,512]                          38.4 vs 32.3
 *   [1024,1024]x[1024,1024]                      27.2 vs 24.6
 *   [2048,512]x[512,512]                         21.8 vs 22.7 (a tie within noise)
 *   [2048,128]x[128,10], [100,100]x[100,100]     20.5 vs 10.2, 20.2 vs 11.4
 * XNNPACK was not faster on any shape tried, so it is no longer used for matmuls. The stock
 * kernel remains only for non-float32 inputs and batches that broadcast on both sides.
 */

interface MatMulPlan {
  batchA: number;
  batchB: number;
  m: number;
  k: number;
  n: number;
  outShape: number[];
}

/** Null when the batch dimensions broadcast in a way other than "equal" or "one side is 1". */
function plan(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): MatMulPlan | null {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const kA = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kB = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (kA !== kB) {
    throw new Error(`matMul inner dimensions differ: a [${a.shape}] (transposeA=${transposeA}) and b [${b.shape}] (transposeB=${transposeB})`);
  }
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  if (m * n * kA === 0) return null;
  const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  if (!sameOuter && batchA !== 1 && batchB !== 1) return null;
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  return { batchA, batchB, m, k: kA, n, outShape: [...outer, m, n] };
}

/**
 * out (+)= a·b (+ bias row) on the SIMD GEMM, every batch slice in one call. a is [batchA, m, k]
 * (or [batchA, k, m] with transposeA), b is [batchB, k, n] (or [batchB, n, k]); a batch of 1
 * broadcasts (stride 0). A bias (n floats) is added as the GEMM stores its tiles.
 */
function simdProduct(
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  out: tf.TensorInfo,
  p: MatMulPlan,
  transposeA: boolean,
  transposeB: boolean,
  bias?: tf.TensorInfo,
): void {
  const { m, n, k } = p;
  const kernels = simdKernels(backend);
  const scratch = kernels.scratch(kernels.exports.scratch_bytes(n, k));
  kernels.exports.gemm_bias(
    Math.max(p.batchA, p.batchB),
    m,
    n,
    k,
    heapOffset(backend, a),
    p.batchA === 1 ? 0 : m * k,
    transposeA ? 1 : k,
    transposeA ? m : 1,
    heapOffset(backend, b),
    p.batchB === 1 ? 0 : k * n,
    transposeB ? 1 : n,
    transposeB ? k : 1,
    heapOffset(backend, out),
    m * n,
    n,
    0,
    bias ? heapOffset(backend, bias) : 0,
    scratch,
  );
}

function batchMatMul(args: KernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const transposeA = Boolean(args.attrs?.['transposeA']);
  const transposeB = Boolean(args.attrs?.['transposeB']);
  const p = a.dtype === 'float32' && b.dtype === 'float32' ? plan(a, b, transposeA, transposeB) : null;
  if (!p) return runStock('BatchMatMul', args);
  const out = backend.makeOutput(p.outShape, 'float32');
  simdProduct(backend, a, b, out, p, transposeA, transposeB);
  return out;
}

const ACTIVATION_KERNELS: Record<string, string | null> = {
  linear: null,
  relu: 'Relu',
  relu6: 'Relu6',
  elu: 'Elu',
  sigmoid: 'Sigmoid',
  leakyrelu: 'LeakyRelu',
  prelu: 'Prelu',
};

function fusedMatMul(args: KernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { a, b, bias, preluActivationWeights } = args.inputs as {
    a: tf.TensorInfo;
    b: tf.TensorInfo;
    bias?: tf.TensorInfo;
    preluActivationWeights?: tf.TensorInfo;
  };
  const transposeA = Boolean(args.attrs?.['transposeA']);
  const transposeB = Boolean(args.attrs?.['transposeB']);
  const activation = String(args.attrs?.['activation'] ?? 'linear');
  const leakyreluAlpha = Number(args.attrs?.['leakyreluAlpha'] ?? 0.2);
  if (!(activation in ACTIVATION_KERNELS)) {
    throw new Error(`_FusedMatMul: activation '${activation}' is not supported on wasm (supported: ${Object.keys(ACTIVATION_KERNELS).join(', ')})`);
  }
  const p = a.dtype === 'float32' && b.dtype === 'float32' ? plan(a, b, transposeA, transposeB) : null;
  if (!p) return runStock('_FusedMatMul', args);

  const temporaries: tf.TensorInfo[] = [];
  try {
    let out = backend.makeOutput(p.outShape, 'float32');
    // A per-column bias is added by the GEMM as it stores each tile (same float32 result as
    // filling the output with the bias and accumulating onto it, one pass over it fewer); any
    // other bias shape is broadcast by the wasm Add afterwards.
    const rowBias = bias !== undefined && bias.dtype === 'float32' && sizeOf(bias.shape) === p.n && bias.shape[bias.shape.length - 1] === p.n && bias.shape.length <= p.outShape.length;
    simdProduct(backend, a, b, out, p, transposeA, transposeB, rowBias ? bias : undefined);
    if (bias && !rowBias) {
      temporaries.push(out);
      out = runStock('Add', { inputs: { a: out, b: bias }, backend });
    }
    const kernel = ACTIVATION_KERNELS[activation];
    if (kernel) {
      temporaries.push(out);
      const inputs: Record<string, tf.TensorInfo> = kernel === 'Prelu' ? { x: out, alpha: required(preluActivationWeights, 'preluActivationWeights') } : { x: out };
      out = runStock(kernel, { inputs, backend, attrs: kernel === 'LeakyRelu' ? { alpha: leakyreluAlpha } : {} });
    }
    return out;
  } finally {
    disposeAll(backend, temporaries);
  }
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`_FusedMatMul with prelu activation needs ${name}`);
  return value;
}

export const batchMatMulKernel: tf.KernelConfig = { kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: batchMatMul as tf.KernelFunc };
export const fusedMatMulKernel: tf.KernelConfig = { kernelName: '_FusedMatMul', backendName: 'wasm', kernelFunc: fusedMatMul as tf.KernelFunc };
