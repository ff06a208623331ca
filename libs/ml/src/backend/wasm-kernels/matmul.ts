import * as tf from '@tensorflow/tfjs';
import { runStock } from './stock-kernels';
import { asWasmBackend, disposeAll, HeapViews, KernelArgs, perBackend, shapeBytes, sizeOf, view, WasmBackend } from './wasm-internals';

/*
 * tfjs-backend-wasm runs a matmul on XNNPACK only when it is a single 2-D product with no
 * transpose flag; everything else (every dense-layer gradient, every attention matmul) falls
 * onto a naive loop about 15x slower. These kernels reshape each case into that fast form:
 * an explicit Transpose for the flags, one tall 2-D product when b is shared by the whole
 * batch, and otherwise one XNNPACK product per batch slice on heap views (no copies).
 */

const wasmBatchMatMul = perBackend((backend: WasmBackend) =>
  backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']),
);

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

/** [batch, r, c] -> [batch, c, r] through the wasm Transpose kernel. */
function swapLastTwo(backend: WasmBackend, x: tf.TensorInfo, batch: number, rows: number, cols: number): tf.TensorInfo {
  return runStock('Transpose', { inputs: { x: view(x, [batch, rows, cols]) }, backend, attrs: { perm: [0, 2, 1] } });
}

interface Operands {
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  temporaries: tf.TensorInfo[];
}

/** a as [batchA, m, k] and b as [batchB, k, n], transposing explicitly where flagged. */
function untransposed(backend: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo, p: MatMulPlan, transposeA: boolean, transposeB: boolean): Operands {
  const temporaries: tf.TensorInfo[] = [];
  let a3 = view(a, [p.batchA, p.m, p.k]);
  let b3 = view(b, [p.batchB, p.k, p.n]);
  if (transposeA) {
    a3 = swapLastTwo(backend, a, p.batchA, p.k, p.m);
    temporaries.push(a3);
  }
  if (transposeB) {
    b3 = swapLastTwo(backend, b, p.batchB, p.n, p.k);
    temporaries.push(b3);
  }
  return { a: a3, b: b3, temporaries };
}

/** One XNNPACK product per batch slice, written straight into the output's slices. */
function sliceWiseProduct(backend: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo, p: MatMulPlan): tf.TensorInfo {
  const batch = Math.max(p.batchA, p.batchB);
  const out = backend.makeOutput([batch, p.m, p.n], 'float32');
  const run = wasmBatchMatMul(backend);
  const aShape = shapeBytes([1, p.m, p.k]);
  const bShape = shapeBytes([1, p.k, p.n]);
  const views = new HeapViews(backend);
  try {
    for (let i = 0; i < batch; i++) {
      const aId = views.slice(a, p.batchA === 1 ? 0 : i * p.m * p.k, p.m * p.k);
      const bId = views.slice(b, p.batchB === 1 ? 0 : i * p.k * p.n, p.k * p.n);
      const outId = views.slice(out, i * p.m * p.n, p.m * p.n);
      run(aId, aShape, 3, bId, bShape, 3, false, false, outId);
    }
  } finally {
    views.release();
  }
  return out;
}

/** a [batchA, m, k] @ b [batchB, k, n] with no transposes, on XNNPACK. */
function fastProduct(backend: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo, p: MatMulPlan): tf.TensorInfo {
  let out: tf.TensorInfo;
  if (p.batchB === 1) {
    // b is shared by every batch entry: one tall [batchA*m, k] x [k, n] product.
    out = runStock('BatchMatMul', {
      inputs: { a: view(a, [1, p.batchA * p.m, p.k]), b: view(b, [1, p.k, p.n]) },
      backend,
      attrs: { transposeA: false, transposeB: false },
    });
  } else {
    out = sliceWiseProduct(backend, a, b, p);
  }
  out.shape = p.outShape;
  return out;
}

function batchMatMul(args: KernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const transposeA = Boolean(args.attrs?.['transposeA']);
  const transposeB = Boolean(args.attrs?.['transposeB']);
  const p = a.dtype === 'float32' && b.dtype === 'float32' ? plan(a, b, transposeA, transposeB) : null;
  if (!p) return runStock('BatchMatMul', args);
  const ops = untransposed(backend, a, b, p, transposeA, transposeB);
  try {
    return fastProduct(backend, ops.a, ops.b, p);
  } finally {
    disposeAll(backend, ops.temporaries);
  }
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

  const ops = untransposed(backend, a, b, p, transposeA, transposeB);
  const temporaries = [...ops.temporaries];
  try {
    const channelBias = !bias || (bias.shape.length === 1 && bias.shape[0] === p.n);
    if (p.batchB === 1 && channelBias && activation !== 'prelu') {
      // XNNPACK applies a per-column bias and the clamp-style activations in the product itself.
      const out = runStock('_FusedMatMul', {
        inputs: bias ? { a: view(ops.a, [1, p.batchA * p.m, p.k]), b: view(ops.b, [1, p.k, p.n]), bias } : { a: view(ops.a, [1, p.batchA * p.m, p.k]), b: view(ops.b, [1, p.k, p.n]) },
        backend,
        attrs: { transposeA: false, transposeB: false, activation, leakyreluAlpha },
      });
      out.shape = p.outShape;
      return out;
    }
    // Anything else: fast product, then bias and activation as separate wasm kernels.
    let out = fastProduct(backend, ops.a, ops.b, p);
    if (bias) {
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
