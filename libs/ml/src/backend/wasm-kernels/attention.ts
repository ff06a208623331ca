import * as tf from '@tensorflow/tfjs';
import { simdKernels } from './simd';
import { runStock } from './stock-kernels';
import { asWasmBackend, disposeAll, heapOffset, KernelArgs, WasmBackend } from './wasm-internals';

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

/** Runs the GEMM for every (batch slice, head), with the given element offsets per slice and per head. */
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
  const [aBase, bBase, cBase] = [heapOffset(backend, a.t), heapOffset(backend, b.t), heapOffset(backend, c.t)];
  // Batch outer, head inner, one GEMM call per (slice, head): a slice's q, k, v rows and its
  // score blocks stay in cache across the heads (head-outer over the whole batch streamed
  // every operand through memory once per head: these products took ~10% longer).
  for (let s = 0; s < d.batch; s++) {
    for (let h = 0; h < d.heads; h++) {
      kernels.exports.gemm(
        1,
        shape.m,
        shape.n,
        shape.k,
        aBase + 4 * (s * a.batch + h * a.head),
        0,
        a.rs,
        a.cs,
        bBase + 4 * (s * b.batch + h * b.head),
        0,
        b.rs,
        b.cs,
        cBase + 4 * (s * c.batch + h * c.head),
        0,
        c.ld,
        0,
        scratch,
      );
    }
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
  const temporaries: tf.TensorInfo[] = [];
  try {
    // One (slice, head) block at a time, all five steps while its operands are in cache: the
    // probability and score gradients live only in two [Tq, Tk] buffers reused by every block
    // (they were two [B, h, Tq, Tk] tensors, each streamed through memory per product).
    const dProbs = backend.makeOutput([tq, tk], 'float32');
    temporaries.push(dProbs);
    const dScores = backend.makeOutput([tq, tk], 'float32');
    temporaries.push(dScores);
    const dQ = backend.makeOutput(q.shape, 'float32');
    const dK = backend.makeOutput(k.shape, 'float32');
    const dV = backend.makeOutput(v.shape, 'float32');
    const kernels = simdKernels(backend);
    const scratch = kernels.scratch(kernels.exports.scratch_bytes(Math.max(tk, dk, dv), Math.max(tq, tk, dk, dv)));
    const [dyAt, qAt, kAt, vAt, probsAt, dProbsAt, dScoresAt, dQAt, dKAt, dVAt] = [dy, q, k, v, probs, dProbs, dScores, dQ, dK, dV].map((t) => heapOffset(backend, t));
    const wq = heads * dk; // row length of q and k
    const wv = heads * dv; // row length of v and dy
    // C [m, n] = A · B for one block; element strides, byte pointers.
    const gemm = (m: number, n: number, depth: number, aAt: number, rsA: number, csA: number, bAt: number, rsB: number, csB: number, cAt: number, ldc: number): void =>
      kernels.exports.gemm(1, m, n, depth, aAt, 0, rsA, csA, bAt, 0, rsB, csB, cAt, 0, ldc, 0, scratch);
    for (let s = 0; s < batch; s++) {
      for (let h = 0; h < heads; h++) {
        const qBlock = qAt + 4 * (s * tq * wq + h * dk);
        const kBlock = kAt + 4 * (s * tk * wq + h * dk);
        const vBlock = vAt + 4 * (s * tk * wv + h * dv);
        const dyBlock = dyAt + 4 * (s * tq * wv + h * dv);
        const pBlock = probsAt + 4 * ((s * heads + h) * tq * tk);
        // dprobs = dy · vᵀ
        gemm(tq, tk, dv, dyBlock, wv, 1, vBlock, 1, wv, dProbsAt, tk);
        // dv = probsᵀ · dy
        gemm(tk, dv, tq, pBlock, 1, tk, dyBlock, wv, 1, dVAt + 4 * (s * tk * wv + h * dv), wv);
        kernels.exports.softmax_grad(pBlock, dProbsAt, tq, tk, dScoresAt);
        // dq = dscores · k;  dk = dscoresᵀ · q
        gemm(tq, dk, tk, dScoresAt, tk, 1, kBlock, wq, 1, dQAt + 4 * (s * tq * wq + h * dk), wq);
        gemm(tk, dk, tq, dScoresAt, 1, tk, qBlock, wq, 1, dKAt + 4 * (s * tk * wq + h * dk), wq);
      }
    }
    return [dQ, dK, dV];
  } finally {
    disposeAll(backend, temporaries);
  }
}

export const attentionKernel: tf.KernelConfig = { kernelName: ATTENTION, backendName: 'wasm', kernelFunc: attention as unknown as tf.KernelFunc };
export const attentionGradKernel: tf.KernelConfig = { kernelName: ATTENTION_GRAD, backendName: 'wasm', kernelFunc: attentionGrad as unknown as tf.KernelFunc };
