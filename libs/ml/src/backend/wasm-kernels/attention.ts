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
 *
 * Self-attention projects q, k and v from one input: MultiHeadAttention then runs one matmul
 * against the three kernels side by side, and the core reads the three blocks in place from that
 * product. TfleetAttention with input qkv [B, T, h*dk + h*dk + h*dv] (and the optional bias)
 * instead of q, k, v, attrs numHeads and keyDim; TfleetAttentionGrad with inputs dy, qkv, probs
 * and one output dqkv of qkv's shape, so the backward pass needs no concat and runs one
 * weight-gradient and one input-gradient matmul instead of three of each plus two adds.
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

/** Where one operand's [B, T, h*depth] block sits: a tensor, a column offset and its row length (elements). */
interface Operand {
  t: tf.TensorInfo;
  col: number;
  ld: number;
}

interface Layout {
  d: Dims;
  q: Operand;
  k: Operand;
  v: Operand;
}

function unpackedLayout(q: tf.TensorInfo, k: tf.TensorInfo, v: tf.TensorInfo, heads: number): Layout {
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
  return {
    d: { batch, heads, tq, tk, dk: qWidth / heads, dv: vWidth / heads },
    q: { t: q, col: 0, ld: qWidth },
    k: { t: k, col: 0, ld: kWidth },
    v: { t: v, col: 0, ld: vWidth },
  };
}

function packedLayout(qkv: tf.TensorInfo, heads: number, keyDim: number): Layout {
  const [batch, time, width] = qkv.shape;
  const ok =
    qkv.shape.length === 3 &&
    qkv.dtype === 'float32' &&
    Number.isInteger(heads) &&
    heads > 0 &&
    Number.isInteger(keyDim) &&
    keyDim > 0 &&
    width > 2 * heads * keyDim &&
    (width - 2 * heads * keyDim) % heads === 0;
  if (!ok) {
    throw new Error(`${ATTENTION}: expected float32 qkv [B, T, h*dk + h*dk + h*dv] with h=${heads}, dk=${keyDim} (got [${qkv.shape}], ${qkv.dtype})`);
  }
  const kWidth = heads * keyDim;
  return {
    d: { batch, heads, tq: time, tk: time, dk: keyDim, dv: (width - 2 * kWidth) / heads },
    q: { t: qkv, col: 0, ld: width },
    k: { t: qkv, col: kWidth, ld: width },
    v: { t: qkv, col: 2 * kWidth, ld: width },
  };
}

function layoutOf(inputs: Partial<Record<'q' | 'k' | 'v' | 'qkv', tf.TensorInfo>>, attrs: KernelArgs['attrs']): Layout {
  const heads = Number(attrs?.['numHeads']);
  if (inputs.qkv) return packedLayout(inputs.qkv, heads, Number(attrs?.['keyDim']));
  if (!inputs.q || !inputs.k || !inputs.v) throw new Error(`${ATTENTION}: needs inputs q, k, v or qkv`);
  return unpackedLayout(inputs.q, inputs.k, inputs.v, heads);
}

/** Runs the GEMM for every (batch slice, head), with the given element offsets per slice and per head. */
function perHead(
  backend: WasmBackend,
  d: Dims,
  shape: { m: number; n: number; k: number },
  a: { t: tf.TensorInfo; at: number; head: number; batch: number; rs: number; cs: number },
  b: { t: tf.TensorInfo; at: number; head: number; batch: number; rs: number; cs: number },
  c: { t: tf.TensorInfo; at: number; head: number; batch: number; ld: number },
): void {
  const kernels = simdKernels(backend);
  const scratch = kernels.scratch(kernels.exports.scratch_bytes(shape.n, shape.k));
  const [aBase, bBase, cBase] = [heapOffset(backend, a.t) + 4 * a.at, heapOffset(backend, b.t) + 4 * b.at, heapOffset(backend, c.t) + 4 * c.at];
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
  const inputs = args.inputs as Partial<Record<'q' | 'k' | 'v' | 'qkv' | 'bias', tf.TensorInfo>>;
  const { d, q, k, v } = layoutOf(inputs, args.attrs);
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
      { t: q.t, at: q.col, head: dk, batch: tq * q.ld, rs: q.ld, cs: 1 },
      { t: k.t, at: k.col, head: dk, batch: tk * k.ld, rs: 1, cs: k.ld },
      { t: scores, at: 0, head: tq * tk, batch: heads * tq * tk, ld: tk },
    );
    if (inputs.bias) {
      scores = runStock('Add', { inputs: { a: scores, b: inputs.bias }, backend });
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
      { t: probs, at: 0, head: tq * tk, batch: heads * tq * tk, rs: tk, cs: 1 },
      { t: v.t, at: v.col, head: dv, batch: tk * v.ld, rs: v.ld, cs: 1 },
      { t: context, at: 0, head: dv, batch: tq * heads * dv, ld: heads * dv },
    );
    return [context, probs];
  } finally {
    disposeAll(backend, temporaries);
  }
}

function attentionGrad(args: KernelArgs): tf.TensorInfo[] {
  const backend = asWasmBackend(args.backend);
  const inputs = args.inputs as Partial<Record<'dy' | 'q' | 'k' | 'v' | 'qkv' | 'probs', tf.TensorInfo>>;
  const { dy, probs } = inputs;
  if (!dy || !probs) throw new Error(`${ATTENTION_GRAD}: needs inputs dy and probs`);
  const { d, q, k, v } = layoutOf(inputs, args.attrs);
  const { batch, heads, tq, tk, dk, dv } = d;
  if (dy.shape.join() !== [batch, tq, heads * dv].join() || probs.shape.join() !== [batch, heads, tq, tk].join()) {
    throw new Error(`${ATTENTION_GRAD}: dy [${dy.shape}] or probs [${probs.shape}] does not fit the attention's shapes`);
  }
  const temporaries: tf.TensorInfo[] = [];
  try {
    // One (slice, head) block at a time, all five steps while its operands are in cache: the
    // probability and score gradients live only in two [Tq, Tk] buffers reused by every block
    // (they were two [B, h, Tq, Tk] tensors, each streamed through memory per product).
    const dProbs = backend.makeOutput([tq, tk], 'float32');
    temporaries.push(dProbs);
    const dScores = backend.makeOutput([tq, tk], 'float32');
    temporaries.push(dScores);
    // The gradients take their inputs' layout: three tensors, or one dqkv whose blocks sit
    // where q, k and v sit in qkv (every element of it is written below).
    const packed = inputs.qkv !== undefined;
    const dQ = backend.makeOutput(q.t.shape, 'float32');
    const dK = packed ? dQ : backend.makeOutput(k.t.shape, 'float32');
    const dV = packed ? dQ : backend.makeOutput(v.t.shape, 'float32');
    const kernels = simdKernels(backend);
    const scratch = kernels.scratch(kernels.exports.scratch_bytes(Math.max(tk, dk, dv), Math.max(tq, tk, dk, dv)));
    const [dyAt, probsAt, dProbsAt, dScoresAt] = [dy, probs, dProbs, dScores].map((t) => heapOffset(backend, t));
    const [qAt, kAt, vAt] = [q, k, v].map((o) => heapOffset(backend, o.t) + 4 * o.col);
    const [dQAt, dKAt, dVAt] = [
      [dQ, q],
      [dK, k],
      [dV, v],
    ].map(([t, o]) => heapOffset(backend, t as tf.TensorInfo) + 4 * (o as Operand).col);
    const wy = heads * dv; // row length of dy
    // C [m, n] = A · B for one block; element strides, byte pointers.
    const gemm = (m: number, n: number, depth: number, aAt: number, rsA: number, csA: number, bAt: number, rsB: number, csB: number, cAt: number, ldc: number): void =>
      kernels.exports.gemm(1, m, n, depth, aAt, 0, rsA, csA, bAt, 0, rsB, csB, cAt, 0, ldc, 0, scratch);
    for (let s = 0; s < batch; s++) {
      for (let h = 0; h < heads; h++) {
        const qBlock = qAt + 4 * (s * tq * q.ld + h * dk);
        const kBlock = kAt + 4 * (s * tk * k.ld + h * dk);
        const vBlock = vAt + 4 * (s * tk * v.ld + h * dv);
        const dyBlock = dyAt + 4 * (s * tq * wy + h * dv);
        const pBlock = probsAt + 4 * ((s * heads + h) * tq * tk);
        // dprobs = dy · vᵀ
        gemm(tq, tk, dv, dyBlock, wy, 1, vBlock, 1, v.ld, dProbsAt, tk);
        // dv = probsᵀ · dy
        gemm(tk, dv, tq, pBlock, 1, tk, dyBlock, wy, 1, dVAt + 4 * (s * tk * v.ld + h * dv), v.ld);
        kernels.exports.softmax_grad(pBlock, dProbsAt, tq, tk, dScoresAt);
        // dq = dscores · k;  dk = dscoresᵀ · q
        gemm(tq, dk, tk, dScoresAt, tk, 1, kBlock, k.ld, 1, dQAt + 4 * (s * tq * q.ld + h * dk), q.ld);
        gemm(tk, dk, tq, dScoresAt, 1, tk, qBlock, q.ld, 1, dKAt + 4 * (s * tk * k.ld + h * dk), k.ld);
      }
    }
    return packed ? [dQ] : [dQ, dK, dV];
  } finally {
    disposeAll(backend, temporaries);
  }
}

export const attentionKernel: tf.KernelConfig = { kernelName: ATTENTION, backendName: 'wasm', kernelFunc: attention as unknown as tf.KernelFunc };
export const attentionGradKernel: tf.KernelConfig = { kernelName: ATTENTION_GRAD, backendName: 'wasm', kernelFunc: attentionGrad as unknown as tf.KernelFunc };
