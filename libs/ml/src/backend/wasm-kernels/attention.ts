import * as tf from '@tensorflow/tfjs';
import { simdKernels } from './simd';
import { runStock } from './stock-kernels';
import { asWasmBackend, disposeAll, KernelArgs, WasmBackend } from './wasm-internals';

/**
 * Scaled dot-product attention core on the wasm heap, for MultiHeadAttention. The heads stay
 * in the projections' own layout [B, T, heads * depth]: every per-head product is a strided
 * SIMD GEMM (one call per head, batched over B), so there is no split-heads or merge-heads
 * Transpose forward or backward, and the softmax gradient is one SIMD pass.
 *
 * TfleetAttention: inputs q [B, Tq, h*dk] (already scaled by 1/sqrt(dk)), k [B, Tk, h*dk],
 * v [B, Tk, h*dv], optional additive bias broadcastable to [B, h, Tq, Tk]; attr numHeads.
 * Outputs context [B, Tq, h*dv] and the probabilities [B, h, Tq, Tk] (kept for the gradient).
 * TfleetAttentionGrad: inputs dy (d context), q, k, v, probs; outputs dq, dk, dv.
 */
export const ATTENTION = 'TfleetAttention';
export const ATTENTION_GRAD = 'TfleetAttentionGrad';

interface Dims {
  batch: number;
  heads: number;
  tq: number;
  tk: number;
  dk: number;
  dv: number;
}

function dims(q: tf.TensorInfo, k: tf.TensorInfo, v: tf.TensorInfo, heads: number): Dims {
  const [batch, tq, qWidth] = q.shape;
  const [kBatch, tk, kWidth] = k.shape;
  const [vBatch, vTime, vWidth] = v.shape;
  const ok =
    q.shape.length === 3 &&
    k.shape.length === 3 &&
    v.shape.length === 3 &&
    kBatch === batch &&
    vBatch === batch &&
    vTime === tk &&
    qWidth === kWidth &&
    Number.isInteger(heads) &&
    heads > 0 &&
    qWidth % heads === 0 &&
    vWidth % heads === 0 &&
    [q, k, v].every((t) => t.dtype === 'float32');
  if (!ok) {
    throw new Error(`${ATTENTION}: expected float32 q [B, Tq, h*dk], k [B, Tk, h*dk], v [B, Tk, h*dv] with h=${heads} (got q [${q.shape}], k [${k.shape}], v [${v.shape}])`);
  }
  return { batch, heads, tq, tk, dk: qWidth / heads, dv: vWidth / heads };
}

/** Runs the GEMM once per head; each call is batched over B with the given element offsets per head. */
function perHead(
  backend: WasmBackend,
  d: Dims,
  shape: { m: number; n: number; k: number },
  a: { t: tf.TensorInfo; head: number; batch: number; rs: number; cs: number },
  b: { t: tf.TensorInfo; head: number; batch: number; rs: number; cs: number },
  c: { t: tf.TensorInfo; head: number; batch: number; ld: number },
): void {
  const kernels = simdKernels(backend);
  const scratch = kernels.scratch(kernels.exports.scratch_bytes(shape.n, shape.k));
  const offset = (t: tf.TensorInfo): number => backend.dataIdMap.get(t.dataId).memoryOffset;
  const [aBase, bBase, cBase] = [offset(a.t), offset(b.t), offset(c.t)];
  for (let h = 0; h < d.heads; h++) {
    kernels.exports.gemm(
      d.batch,
      shape.m,
      shape.n,
      shape.k,
      aBase + 4 * h * a.head,
      a.batch,
      a.rs,
      a.cs,
      bBase + 4 * h * b.head,
      b.batch,
      b.rs,
      b.cs,
      cBase + 4 * h * c.head,
      c.batch,
      c.ld,
      0,
      scratch,
    );
  }
}

function attention(args: KernelArgs): tf.TensorInfo[] {
  const backend = asWasmBackend(args.backend);
  const { q, k, v, bias } = args.inputs as { q: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo; bias?: tf.TensorInfo };
  const d = dims(q, k, v, Number(args.attrs?.['numHeads']));
  const { batch, heads, tq, tk, dk, dv } = d;
  const temporaries: tf.TensorInfo[] = [];
  try {
    // scores[b, h] = q[b, :, h] · k[b, :, h]ᵀ
    let scores = backend.makeOutput([batch, heads, tq, tk], 'float32');
    temporaries.push(scores);
    perHead(
      backend,
      d,
      { m: tq, n: tk, k: dk },
      { t: q, head: dk, batch: tq * heads * dk, rs: heads * dk, cs: 1 },
      { t: k, head: dk, batch: tk * heads * dk, rs: 1, cs: heads * dk },
      { t: scores, head: tq * tk, batch: heads * tq * tk, ld: tk },
    );
    if (bias) {
      scores = runStock('Add', { inputs: { a: scores, b: bias }, backend });
      temporaries.push(scores);
    }
    // The wasm Softmax reads logits.shape[dim]: it needs the positive axis.
    const probs = runStock('Softmax', { inputs: { logits: scores }, backend, attrs: { dim: 3 } });
    // context[b, :, h] = probs[b, h] · v[b, :, h]
    const context = backend.makeOutput([batch, tq, heads * dv], 'float32');
    perHead(
      backend,
      d,
      { m: tq, n: dv, k: tk },
      { t: probs, head: tq * tk, batch: heads * tq * tk, rs: tk, cs: 1 },
      { t: v, head: dv, batch: tk * heads * dv, rs: heads * dv, cs: 1 },
      { t: context, head: dv, batch: tq * heads * dv, ld: heads * dv },
    );
    return [context, probs];
  } finally {
    disposeAll(backend, temporaries);
  }
}

function attentionGrad(args: KernelArgs): tf.TensorInfo[] {
  const backend = asWasmBackend(args.backend);
  const { dy, q, k, v, probs } = args.inputs as Record<'dy' | 'q' | 'k' | 'v' | 'probs', tf.TensorInfo>;
  const d = dims(q, k, v, Number(args.attrs?.['numHeads']));
  const { batch, heads, tq, tk, dk, dv } = d;
  const scoreBlock = { head: tq * tk, batch: heads * tq * tk };
  const temporaries: tf.TensorInfo[] = [];
  try {
    // dprobs[b, h] = dy[b, :, h] · v[b, :, h]ᵀ
    const dProbs = backend.makeOutput([batch, heads, tq, tk], 'float32');
    temporaries.push(dProbs);
    perHead(
      backend,
      d,
      { m: tq, n: tk, k: dv },
      { t: dy, head: dv, batch: tq * heads * dv, rs: heads * dv, cs: 1 },
      { t: v, head: dv, batch: tk * heads * dv, rs: 1, cs: heads * dv },
      { t: dProbs, ...scoreBlock, ld: tk },
    );
    // dv[b, :, h] = probs[b, h]ᵀ · dy[b, :, h]
    const dV = backend.makeOutput(v.shape, 'float32');
    perHead(
      backend,
      d,
      { m: tk, n: dv, k: tq },
      { t: probs, ...scoreBlock, rs: 1, cs: tk },
      { t: dy, head: dv, batch: tq * heads * dv, rs: heads * dv, cs: 1 },
      { t: dV, head: dv, batch: tk * heads * dv, ld: heads * dv },
    );
    const dScores = backend.makeOutput([batch, heads, tq, tk], 'float32');
    temporaries.push(dScores);
    const offset = (t: tf.TensorInfo): number => backend.dataIdMap.get(t.dataId).memoryOffset;
    simdKernels(backend).exports.softmax_grad(offset(probs), offset(dProbs), batch * heads * tq, tk, offset(dScores));
    // dq[b, :, h] = dscores[b, h] · k[b, :, h];  dk[b, :, h] = dscores[b, h]ᵀ · q[b, :, h]
    const dQ = backend.makeOutput(q.shape, 'float32');
    perHead(
      backend,
      d,
      { m: tq, n: dk, k: tk },
      { t: dScores, ...scoreBlock, rs: tk, cs: 1 },
      { t: k, head: dk, batch: tk * heads * dk, rs: heads * dk, cs: 1 },
      { t: dQ, head: dk, batch: tq * heads * dk, ld: heads * dk },
    );
    const dK = backend.makeOutput(k.shape, 'float32');
    perHead(
      backend,
      d,
      { m: tk, n: dk, k: tq },
      { t: dScores, ...scoreBlock, rs: 1, cs: tk },
      { t: q, head: dk, batch: tq * heads * dk, rs: heads * dk, cs: 1 },
      { t: dK, head: dk, batch: tk * heads * dk, ld: heads * dk },
    );
    return [dQ, dK, dV];
  } finally {
    disposeAll(backend, temporaries);
  }
}

export const attentionKernel: tf.KernelConfig = { kernelName: ATTENTION, backendName: 'wasm', kernelFunc: attention as unknown as tf.KernelFunc };
export const attentionGradKernel: tf.KernelConfig = { kernelName: ATTENTION_GRAD, backendName: 'wasm', kernelFunc: attentionGrad as unknown as tf.KernelFunc };
