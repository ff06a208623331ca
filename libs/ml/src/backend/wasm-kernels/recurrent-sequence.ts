import * as tf from '@tensorflow/tfjs';
import { rnnKernels, RnnKernelExports } from './rnn-simd';
import { simdKernels, SimdKernels } from './simd';
import { asWasmBackend, heapOffset, HeapViews, KernelArgs, perBackend, sizeOf, WasmBackend } from './wasm-internals';

/*
 * Whole-sequence LSTM and GRU kernels for the cpu and wasm backends (used by FusedLSTM and
 * FusedGRU in layers/fused-recurrent.ts).
 *
 * tfjs-layers unrolls a recurrent layer into ~140 kernel calls per timestep (4,600 per training
 * step of the lstm-lm workload), and on wasm each call costs tens of microseconds of dispatch,
 * far more than the arithmetic on a [64, 128] state. These kernels run the whole time loop in
 * one call: per timestep one matmul of the previous state by the recurrent kernel (the project's
 * SIMD GEMM on wasm-heap views, no copies) and the gate arithmetic, written straight into the
 * output buffers. On wasm the gate arithmetic runs in SIMD kernels for any number of units
 * (backend/wasm-kernels/rnn-simd: f32x4 over floor(u/4)·4 columns of each row, then the same
 * arithmetic one lane at a time for the rest; measured: lstm-lm step 36 -> 31 ms, gru-lm
 * 35 -> 23 ms against the JS loops); on cpu (the tests' reference) in the plain loops below,
 * which do the same operations in the same order. The input projection x·W and the weight gradients stay
 * ordinary tfjs matmuls over all timesteps at once (in layers/fused-recurrent.ts).
 *
 * Layouts (time-major, gate order as tfjs-layers: LSTM i, f, c, o; GRU z, r, h):
 * - LSTM forward  {xw [T,B,4u], recurrentKernel [u,4u], h0 [B,u], c0 [B,u], mask? [T,B]}
 *                 -> [out [K,B,u], hs [T+1,B,u], cs [T+1,B,u], gates [T,B,4u], tanhC [T,B,u]]
 * - LSTM backward {dOut [K,B,u], recurrentKernel, hs, cs, gates, tanhC, mask?}
 *                 -> [dz [T,B,4u] (d pre-activations), dh0 [B,u], dc0 [B,u], dBias [4u],
 *                     dRecurrentKernel [u,4u]]
 * - GRU forward   {xw [T,B,3u], recurrentKernel [u,3u], h0, mask?}
 *                 -> [out [K,B,u], hs [T+1,B,u], gates [T,B,3u] (z, r, hh), rh [T,B,u] (r*h_{t-1})]
 * - GRU backward  {dOut, recurrentKernel, hs, gates, rh, mask?}
 *                 -> [dz [T,B,3u], dh0 [B,u], dBias [3u], dRecurrentKernel [u,3u]]
 * dRecurrentKernel (sum over t of h_{t-1}ᵀ·dz_t; GRU: rh_tᵀ·dhh_t for the candidate block) is
 * one product over all timesteps, on strided views of hs: as tfjs ops it needed a slice of hs,
 * which the wasm backend implements as a copy of the whole of hs through a fresh JS buffer.
 * dBias (the sum of dz over time and batch) is summed in the gate loops: the same sum as a
 * separate tfjs Sum over axis 0 of [T*B, 4u] costs a transpose and ~10 ms on wasm.
 * `out` holds the layer's outputs: rows h_1..h_T (returnSequences) or h_T alone, then c_T when
 * `returnCarry`. hs and cs start with the initial state. gates hold activations (after the
 * sigmoid / tanh). A mask row of 0 carries the state through that step unchanged, as
 * tfjs-layers does for masked timesteps.
 */

export const LSTM_SEQUENCE = 'TfleetLstmSequence';
export const LSTM_SEQUENCE_GRAD = 'TfleetLstmSequenceGrad';
export const GRU_SEQUENCE = 'TfleetGruSequence';
export const GRU_SEQUENCE_GRAD = 'TfleetGruSequenceGrad';

/** Recurrent (gate) activations the kernels implement; the cell activation must be tanh. */
export type GateActivation = 'hardSigmoid' | 'sigmoid';

interface SequenceAttrs {
  recurrentActivation: GateActivation;
  returnSequences: boolean;
  /** LSTM only: append c_T to `out`. */
  returnCarry: boolean;
  /** Backward: also compute the gradient of the initial state (one more matmul). */
  initialStateGrad: boolean;
}

/** A strided matrix inside a tensor: element (i, j) at offset + i * rowStride + j * colStride. */
export interface Operand {
  info: tf.TensorInfo;
  offset: number;
  rowStride: number;
  colStride: number;
}

export function rows(info: tf.TensorInfo, offset: number, rowStride: number): Operand {
  return { info, offset, rowStride, colStride: 1 };
}

/** The transpose of a row-major block: (i, j) of the result is (j, i) of the block. */
export function transposed(info: tf.TensorInfo, offset: number, rowStride: number): Operand {
  return { info, offset, rowStride: 1, colStride: rowStride };
}

/**
 * A k x n right-hand operand that many products share (the recurrent kernel, once per
 * timestep): on wasm packed once into the GEMM's panel layout, so the time loop does not pack
 * it again at every step. Release it with `Machine.release`.
 */
export interface FixedOperand {
  readonly operand: Operand;
  readonly k: number;
  readonly n: number;
  /** wasm: the heap block holding the packed panels; null where nothing is packed. */
  readonly packed: tf.TensorInfo | null;
}

function isFixed(b: Operand | FixedOperand): b is FixedOperand {
  return 'operand' in b;
}

/** The SIMD gate arithmetic (rnn-simd) and the heap byte address of a tensor element. */
export interface GateKernels {
  k: RnnKernelExports;
  at(info: tf.TensorInfo, elementOffset?: number): number;
}

/** The backend operations a sequence kernel needs: buffers, a strided product and a vector sigmoid. */
export interface Machine {
  /** wasm: the gate loops as SIMD kernels (any units >= 1); cpu: null (the JS loops below). */
  gateKernels(units: number): GateKernels | null;
  /** An uninitialised float32 tensor; every element must be written. */
  alloc(shape: number[]): tf.TensorInfo;
  /** The tensor's elements. On wasm this is a heap view that a later alloc, gemm or sigmoid may detach: fetch again after any of them. */
  f32(info: tf.TensorInfo): Float32Array;
  /** C (m x n, row-major from c.offset, row stride c.rowStride) (+)= A (m x k) · B (k x n). */
  gemm(m: number, n: number, k: number, a: Operand, b: Operand | FixedOperand, c: Operand, accumulate: boolean): void;
  /** `b` (k x n) readied for many products; may allocate, so fetch f32 views again afterwards. */
  fix(k: number, n: number, b: Operand): FixedOperand;
  release(fixed: FixedOperand): void;
  /** dst[dstOffset + i] = 1 / (1 + exp(-src[srcOffset + i])) for i < count (different buffers). */
  sigmoid(src: tf.TensorInfo, srcOffset: number, dst: tf.TensorInfo, dstOffset: number, count: number): void;
  /** Frees a tensor from alloc that is not returned. */
  free(info: tf.TensorInfo): void;
  /** Releases per-call resources (wasm heap views). */
  finish(): void;
}

const wasmSigmoid = perBackend((backend: WasmBackend) => backend.wasm.cwrap('Sigmoid', null, ['number', 'number']));

/**
 * wasm: products on the project's SIMD GEMM (strided operands, so transposes and column blocks
 * of the recurrent kernel need no copies; about twice XNNPACK's speed at these sizes), the
 * sigmoid on the backend's own (XNNPACK, vectorised) Sigmoid over heap views.
 */
export class WasmMachine implements Machine {
  private readonly views: HeapViews;
  private readonly simd: SimdKernels;
  private readonly sigmoidFn: ReturnType<typeof wasmSigmoid>;

  constructor(private readonly backend: WasmBackend) {
    this.views = new HeapViews(backend);
    this.simd = simdKernels(backend);
    this.sigmoidFn = wasmSigmoid(backend);
  }

  alloc(shape: number[]): tf.TensorInfo {
    return this.backend.makeOutput(shape, 'float32');
  }

  f32(info: tf.TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(info) as Float32Array;
  }

  gemm(m: number, n: number, k: number, a: Operand, bOrFixed: Operand | FixedOperand, c: Operand, accumulate: boolean): void {
    if (isFixed(bOrFixed) && bOrFixed.packed !== null) {
      if (bOrFixed.k !== k || bOrFixed.n !== n) throw new Error(`packed operand is ${bOrFixed.k} x ${bOrFixed.n}, product needs ${k} x ${n}`);
      const scratch = this.simd.scratch(this.simd.exports.scratch_bytes(0, 0));
      this.simd.exports.gemm_packed(m, n, k, this.pointer(a), a.rowStride, a.colStride, this.packedPointer(bOrFixed.packed), this.pointer(c), c.rowStride, accumulate ? 1 : 0, scratch);
      return;
    }
    const b = isFixed(bOrFixed) ? bOrFixed.operand : bOrFixed;
    const scratch = this.simd.scratch(this.simd.exports.scratch_bytes(n, k));
    this.simd.exports.gemm(
      1,
      m,
      n,
      k,
      this.pointer(a),
      0,
      a.rowStride,
      a.colStride,
      this.pointer(b),
      0,
      b.rowStride,
      b.colStride,
      this.pointer(c),
      0,
      c.rowStride,
      accumulate ? 1 : 0,
      scratch,
    );
  }

  fix(k: number, n: number, b: Operand): FixedOperand {
    // 16 spare bytes, so the panels can start on a 16-byte boundary whatever malloc returned.
    const packed = this.alloc([this.simd.exports.packed_bytes(n, k) / 4 + 4]);
    this.simd.exports.pack_b(this.pointer(b), b.rowStride, b.colStride, k, n, this.packedPointer(packed));
    return { operand: b, k, n, packed };
  }

  release(fixed: FixedOperand): void {
    if (fixed.packed !== null) this.free(fixed.packed);
  }

  sigmoid(src: tf.TensorInfo, srcOffset: number, dst: tf.TensorInfo, dstOffset: number, count: number): void {
    this.sigmoidFn(this.views.slice(src, srcOffset, count), this.views.slice(dst, dstOffset, count));
  }

  free(info: tf.TensorInfo): void {
    this.backend.disposeData(info.dataId);
  }

  gateKernels(units: number): GateKernels | null {
    // Any width: the kernels run f32x4 over the first floor(u/4)·4 columns of a row and a
    // one-lane tail over the rest (a scalar JS fallback for u % 4 != 0 made the adding suite's
    // 74-unit GRU pay the JS loops on every gate).
    if (!Number.isInteger(units) || units < 1) throw new Error(`recurrent kernels need a positive whole number of units (got ${units})`);
    const backend = this.backend;
    return {
      k: rnnKernels(backend),
      at: (info, elementOffset = 0) => heapOffset(backend, info) + 4 * elementOffset,
    };
  }

  finish(): void {
    this.views.release();
  }

  private pointer(o: Operand): number {
    return heapOffset(this.backend, o.info) + 4 * o.offset;
  }

  private packedPointer(packed: tf.TensorInfo): number {
    return (heapOffset(this.backend, packed) + 15) & ~15;
  }
}

/** What the kernels use of tfjs-backend-cpu's MathBackendCPU. */
interface CpuBackend {
  readSync(dataId: tf.DataId): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void;
}

export function asCpuBackend(backend: unknown): CpuBackend {
  const b = backend as Partial<CpuBackend> | null;
  if (!b || typeof b.readSync !== 'function' || typeof b.makeTensorInfo !== 'function' || typeof b.disposeIntermediateTensorInfo !== 'function') {
    throw new Error('tfleet recurrent kernels need the tfjs cpu backend (readSync, makeTensorInfo)');
  }
  return b as CpuBackend;
}

/** cpu: the same operations as plain loops (the cpu backend is the tests' reference, not fast). */
export class CpuMachine implements Machine {
  private row = new Float64Array(0);

  constructor(private readonly backend: CpuBackend) {}

  alloc(shape: number[]): tf.TensorInfo {
    return this.backend.makeTensorInfo(shape, 'float32', new Float32Array(sizeOf(shape)));
  }

  f32(info: tf.TensorInfo): Float32Array {
    const values = this.backend.readSync(info.dataId);
    if (!(values instanceof Float32Array)) throw new Error(`recurrent kernel input must be float32 (got ${info.dtype})`);
    return values;
  }

  gemm(m: number, n: number, k: number, a: Operand, bOrFixed: Operand | FixedOperand, c: Operand, accumulate: boolean): void {
    const b = isFixed(bOrFixed) ? bOrFixed.operand : bOrFixed;
    const av = this.f32(a.info);
    const bv = this.f32(b.info);
    const cv = this.f32(c.info);
    if (this.row.length < n) this.row = new Float64Array(n);
    const row = this.row;
    for (let i = 0; i < m; i++) {
      row.fill(0, 0, n);
      for (let p = 0; p < k; p++) {
        const x = av[a.offset + i * a.rowStride + p * a.colStride];
        if (x === 0) continue;
        const bRow = b.offset + p * b.rowStride;
        for (let j = 0; j < n; j++) row[j] += x * bv[bRow + j * b.colStride];
      }
      const cRow = c.offset + i * c.rowStride;
      for (let j = 0; j < n; j++) cv[cRow + j] = accumulate ? cv[cRow + j] + row[j] : row[j];
    }
  }

  fix(k: number, n: number, b: Operand): FixedOperand {
    return { operand: b, k, n, packed: null };
  }

  release(): void {
    // nothing packed
  }

  sigmoid(src: tf.TensorInfo, srcOffset: number, dst: tf.TensorInfo, dstOffset: number, count: number): void {
    const s = this.f32(src);
    const d = this.f32(dst);
    for (let i = 0; i < count; i++) d[dstOffset + i] = sigmoid(s[srcOffset + i]);
  }

  free(info: tf.TensorInfo): void {
    this.backend.disposeIntermediateTensorInfo(info);
  }

  gateKernels(): GateKernels | null {
    return null;
  }

  finish(): void {
    // nothing per call
  }
}

/**
 * Gradients below this magnitude are stored as 0. Over long sequences the backward pass
 * multiplies the carried gradient by gate slopes every step, so it decays towards float32
 * subnormals; WebAssembly cannot flush those to zero in hardware and every operation on them
 * runs on a slow microcode path (measured: a GRU at 400 steps ran 24x slower than at 100, its
 * backward GEMMs 15x slower per call). 1e-30 is far below any value that could change a float32
 * weight update, and it keeps every product of stored values with weights in the normal range.
 */
export const GRADIENT_FLOOR = 1e-30;

export function flushTiny(x: number): number {
  return x > -GRADIENT_FLOOR && x < GRADIENT_FLOOR ? 0 : x;
}

function hardSigmoid(x: number): number {
  const y = 0.2 * x + 0.5;
  return y <= 0 ? 0 : y >= 1 ? 1 : y;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * d activation / d pre-activation from the activation a. Hard sigmoid: 0.2 inside the linear
 * piece; tfjs's clipByValue gradient also passes it at the exact clip points (pre-activation
 * exactly ±2.5), which this cannot tell from the saturated side: a measure-zero difference.
 */
function gateSlope(a: number, hard: boolean): number {
  return hard ? (a > 0 && a < 1 ? 0.2 : 0) : a * (1 - a);
}

function readAttrs(attrs: KernelArgs['attrs']): SequenceAttrs {
  const activation = attrs?.['recurrentActivation'];
  if (activation !== 'hardSigmoid' && activation !== 'sigmoid') {
    throw new Error(`recurrent kernels support hardSigmoid and sigmoid gates (got ${String(activation)})`);
  }
  const gate: GateActivation = activation === 'hardSigmoid' ? 'hardSigmoid' : 'sigmoid';
  return {
    recurrentActivation: gate,
    returnSequences: attrs?.['returnSequences'] === true,
    returnCarry: attrs?.['returnCarry'] === true,
    initialStateGrad: attrs?.['initialStateGrad'] === true,
  };
}

export type Inputs = Record<string, tf.TensorInfo | undefined>;

export function required(inputs: Inputs, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`recurrent kernel input ${name} is missing`);
  if (t.dtype !== 'float32') throw new Error(`recurrent kernel input ${name} must be float32 (got ${t.dtype})`);
  return t;
}

/** Copies row `row` of a [rows, bu] tensor into `dst`. */
export function copyRow(m: Machine, src: tf.TensorInfo, row: number, bu: number, dst: tf.TensorInfo): void {
  m.f32(dst).set(m.f32(src).subarray(row * bu, (row + 1) * bu));
}

/*
 * tanh(x) = 2·sigmoid(2x) − 1: the kernels put 2x in a [B, u] buffer and run the backend's
 * vectorised sigmoid over it, instead of a Math.exp per element (which took most of the time of
 * the gate loops). The absolute error is that of the float32 sigmoid, ~1e-7.
 */

function lstmForward(m: Machine, inputs: Inputs, attrs: SequenceAttrs): tf.TensorInfo[] {
  const xw = required(inputs, 'xw');
  const kernel = required(inputs, 'recurrentKernel');
  const h0 = required(inputs, 'h0');
  const c0 = required(inputs, 'c0');
  const mask = inputs['mask'];
  const [steps, batch, g4] = xw.shape;
  const u = g4 / 4;
  const bu = batch * u;
  const hard = attrs.recurrentActivation === 'hardSigmoid';
  const outRows = (attrs.returnSequences ? steps : 1) + (attrs.returnCarry ? 1 : 0);

  const out = m.alloc([outRows, batch, u]);
  const hs = m.alloc([steps + 1, batch, u]);
  const cs = m.alloc([steps + 1, batch, u]);
  const gates = m.alloc([steps, batch, g4]);
  const tanhC = m.alloc([steps, batch, u]);
  const z = m.alloc([batch, g4]); // pre-activations of the current step
  const twice = m.alloc([batch, u]);
  const sig = m.alloc([batch, u]);
  const recurrent = m.fix(u, g4, rows(kernel, 0, g4));
  copyRow(m, h0, 0, bu, hs);
  copyRow(m, c0, 0, bu, cs);
  const g = m.gateKernels(u);

  for (let t = 0; t < steps; t++) {
    const prev = t * bu;
    const next = prev + bu;
    const go = t * batch * g4;
    // z = xw_t + h_{t-1}·U
    m.f32(z).set(m.f32(xw).subarray(go, go + batch * g4));
    m.gemm(batch, g4, u, rows(hs, prev, u), recurrent, rows(z, 0, g4), true);
    if (g) {
      const maskAt = mask ? g.at(mask, t * batch) : -1;
      g.k.lstm_pre(g.at(z), g.at(gates, go), g.at(twice), batch, u, hard ? 1 : 0);
      // sigmoid(2·z_c): in sig (hard) or in the gates' c block (one sigmoid over all of z).
      if (hard) m.sigmoid(twice, 0, sig, 0, bu);
      else m.sigmoid(z, 0, gates, go, batch * g4);
      const sigc = hard ? g.at(sig) : g.at(gates, go + 2 * u);
      g.k.lstm_cell(g.at(gates, go), sigc, hard ? 4 * u : 4 * g4, g.at(cs, prev), g.at(cs, next), g.at(twice), maskAt, batch, u);
      m.sigmoid(twice, 0, sig, 0, bu);
      g.k.lstm_out(g.at(gates, go), g.at(sig), g.at(tanhC, prev), g.at(hs, prev), g.at(hs, next), maskAt, batch, u);
      continue;
    }
    if (!hard) {
      // One vectorised sigmoid over all four gate blocks (the c block doubled first, for its
      // tanh), straight into this step's gate rows: a Math.exp per gate element took most of
      // the loop's time.
      const Z = m.f32(z);
      for (let b = 0; b < batch; b++) {
        const cr = b * g4 + 2 * u;
        for (let j = 0; j < u; j++) Z[cr + j] *= 2;
      }
      m.sigmoid(z, 0, gates, go, batch * g4);
    } else {
      const Z = m.f32(z);
      const GA = m.f32(gates);
      for (let b = 0; b < batch; b++) {
        const zr = b * g4;
        const gr = go + zr;
        for (let j = 0; j < u; j++) {
          GA[gr + j] = hardSigmoid(Z[zr + j]);
          GA[gr + u + j] = hardSigmoid(Z[zr + u + j]);
          GA[gr + 3 * u + j] = hardSigmoid(Z[zr + 3 * u + j]);
        }
      }
      const TW = m.f32(twice);
      for (let b = 0; b < batch; b++) {
        for (let j = 0; j < u; j++) TW[b * u + j] = 2 * Z[b * g4 + 2 * u + j];
      }
      m.sigmoid(twice, 0, sig, 0, bu);
      const SG = m.f32(sig);
      const GA2 = m.f32(gates);
      for (let b = 0; b < batch; b++) {
        const cr = go + b * g4 + 2 * u;
        for (let j = 0; j < u; j++) GA2[cr + j] = SG[b * u + j];
      }
    }
    {
      // gates' c block holds sigmoid(2·z_c) here; it becomes tanh(z_c) below.
      const TW = m.f32(twice);
      const GA = m.f32(gates);
      const C = m.f32(cs);
      const M = mask ? m.f32(mask) : null;
      for (let b = 0; b < batch; b++) {
        const gr = go + b * g4;
        const sr = b * u;
        const keep = M === null || M[t * batch + b] !== 0;
        for (let j = 0; j < u; j++) {
          const i = GA[gr + j];
          const f = GA[gr + u + j];
          const cc = 2 * GA[gr + 2 * u + j] - 1;
          GA[gr + 2 * u + j] = cc;
          const cPrev = C[prev + sr + j];
          // Rounded to float32 before its tanh, as the stock cell takes tanh of the stored c.
          const c = Math.fround(f * cPrev + i * Math.fround(cc));
          C[next + sr + j] = keep ? c : cPrev;
          TW[sr + j] = 2 * c;
        }
      }
    }
    m.sigmoid(twice, 0, sig, 0, bu);
    {
      const SG = m.f32(sig);
      const GA = m.f32(gates);
      const TC = m.f32(tanhC);
      const H = m.f32(hs);
      const M = mask ? m.f32(mask) : null;
      for (let b = 0; b < batch; b++) {
        const orow = go + b * g4 + 3 * u;
        const sr = b * u;
        const keep = M === null || M[t * batch + b] !== 0;
        for (let j = 0; j < u; j++) {
          const tc = 2 * SG[sr + j] - 1;
          TC[prev + sr + j] = tc;
          H[next + sr + j] = keep ? GA[orow + j] * tc : H[prev + sr + j];
        }
      }
    }
  }

  const O = m.f32(out);
  const H = m.f32(hs);
  if (attrs.returnSequences) O.set(H.subarray(bu, (steps + 1) * bu));
  else O.set(H.subarray(steps * bu, (steps + 1) * bu));
  if (attrs.returnCarry) O.set(m.f32(cs).subarray(steps * bu, (steps + 1) * bu), (outRows - 1) * bu);
  for (const temp of [z, twice, sig]) m.free(temp);
  m.release(recurrent);
  return [out, hs, cs, gates, tanhC];
}

function lstmBackward(m: Machine, inputs: Inputs, attrs: SequenceAttrs): tf.TensorInfo[] {
  const dOut = required(inputs, 'dOut');
  const kernel = required(inputs, 'recurrentKernel');
  const hs = required(inputs, 'hs');
  const cs = required(inputs, 'cs');
  const gates = required(inputs, 'gates');
  const tanhC = required(inputs, 'tanhC');
  const mask = inputs['mask'];
  const [steps, batch, g4] = gates.shape;
  const u = g4 / 4;
  const bu = batch * u;
  const hard = attrs.recurrentActivation === 'hardSigmoid';
  const outRows = dOut.shape[0];

  const dz = m.alloc([steps, batch, g4]);
  const dh = m.alloc([batch, u]); // d loss / d h_t; ends as dh0
  const dc = m.alloc([batch, u]); // d loss / d c_t from later steps; ends as dc0
  const dBias = m.alloc([g4]);
  const biasSum = new Float64Array(g4);
  const recurrentT = m.fix(g4, u, transposed(kernel, 0, g4));
  copyRow(m, dOut, attrs.returnSequences ? steps - 1 : 0, bu, dh);
  if (attrs.returnCarry) copyRow(m, dOut, outRows - 1, bu, dc);
  else m.f32(dc).fill(0);
  const g = m.gateKernels(u);
  // The SIMD kernels sum dBias in place (float32); the JS loops in biasSum.
  m.f32(dBias).fill(0);

  for (let t = steps - 1; t >= 0; t--) {
    const go = t * batch * g4;
    const so = t * bu;
    // The output gradient of step t-1 (returnSequences), added to dh for the next iteration.
    const extra = attrs.returnSequences && t > 0 ? (t - 1) * bu : -1;
    if (g) {
      const maskAt = mask ? g.at(mask, t * batch) : -1;
      const extraAt = extra >= 0 ? g.at(dOut, extra) : -1;
      g.k.lstm_backward(g.at(gates, go), g.at(tanhC, so), g.at(cs, so), g.at(dh), g.at(dc), g.at(dz, go), extraAt, g.at(dBias), maskAt, batch, u, hard ? 1 : 0);
    } else {
      const DZ = m.f32(dz);
      const DH = m.f32(dh);
      const DC = m.f32(dc);
      const GA = m.f32(gates);
      const C = m.f32(cs);
      const TC = m.f32(tanhC);
      const D = m.f32(dOut);
      const M = mask ? m.f32(mask) : null;
      for (let b = 0; b < batch; b++) {
        const gr = go + b * g4;
        const sr = b * u;
        if (M !== null && M[t * batch + b] === 0) {
          // A masked step passes h and c through: their gradients go on to step t-1 as they are.
          DZ.fill(0, gr, gr + g4);
          if (extra >= 0) for (let j = 0; j < u; j++) DH[sr + j] += D[extra + sr + j];
          continue;
        }
        for (let j = 0; j < u; j++) {
          const i = GA[gr + j];
          const f = GA[gr + u + j];
          const cc = GA[gr + 2 * u + j];
          const o = GA[gr + 3 * u + j];
          const tc = TC[so + sr + j];
          const dhv = DH[sr + j];
          const dcv = DC[sr + j] + dhv * o * (1 - tc * tc);
          const di = flushTiny(dcv * cc * gateSlope(i, hard));
          const df = flushTiny(dcv * C[so + sr + j] * gateSlope(f, hard));
          const dcc = flushTiny(dcv * i * (1 - cc * cc));
          const dout = flushTiny(dhv * tc * gateSlope(o, hard));
          DZ[gr + j] = di;
          DZ[gr + u + j] = df;
          DZ[gr + 2 * u + j] = dcc;
          DZ[gr + 3 * u + j] = dout;
          biasSum[j] += di;
          biasSum[u + j] += df;
          biasSum[2 * u + j] += dcc;
          biasSum[3 * u + j] += dout;
          DC[sr + j] = flushTiny(dcv * f);
          // h_{t-1} reaches the loss only through z_t (added by the product below) and through
          // the output of step t-1.
          DH[sr + j] = extra >= 0 ? D[extra + sr + j] : 0;
        }
      }
    }
    if (t === 0 && !attrs.initialStateGrad) break;
    // dh_{t-1} += dz_t·Uᵀ
    m.gemm(batch, u, g4, rows(dz, go, g4), recurrentT, rows(dh, 0, u), true);
  }

  if (!g) m.f32(dBias).set(biasSum);
  // dU = [h_0..h_{T-1}]ᵀ·dz over all T·B rows.
  const dRecurrent = m.alloc([u, g4]);
  m.gemm(u, g4, steps * batch, transposed(hs, 0, u), rows(dz, 0, g4), rows(dRecurrent, 0, g4), false);
  m.release(recurrentT);
  return [dz, dh, dc, dBias, dRecurrent];
}

function gruForward(m: Machine, inputs: Inputs, attrs: SequenceAttrs): tf.TensorInfo[] {
  const xw = required(inputs, 'xw');
  const kernel = required(inputs, 'recurrentKernel');
  const h0 = required(inputs, 'h0');
  const mask = inputs['mask'];
  const [steps, batch, g3] = xw.shape;
  const u = g3 / 3;
  const bu = batch * u;
  const hard = attrs.recurrentActivation === 'hardSigmoid';
  const outRows = attrs.returnSequences ? steps : 1;

  const out = m.alloc([outRows, batch, u]);
  const hs = m.alloc([steps + 1, batch, u]);
  const gates = m.alloc([steps, batch, g3]);
  const rh = m.alloc([steps, batch, u]);
  const zr = m.alloc([batch, 2 * u]);
  const zrAct = m.alloc([batch, 2 * u]);
  const hr = m.alloc([batch, u]);
  const twice = m.alloc([batch, u]);
  const sig = m.alloc([batch, u]);
  const recurrentZr = m.fix(u, 2 * u, rows(kernel, 0, g3));
  const recurrentH = m.fix(u, u, rows(kernel, 2 * u, g3));
  copyRow(m, h0, 0, bu, hs);
  const g = m.gateKernels(u);

  for (let t = 0; t < steps; t++) {
    const go = t * batch * g3;
    const prev = t * bu;
    const next = prev + bu;
    // [z, r] pre-activations: h_{t-1} times the first 2u columns of U.
    m.gemm(batch, 2 * u, u, rows(hs, prev, u), recurrentZr, rows(zr, 0, 2 * u), false);
    if (g) {
      g.k.gru_add_input(g.at(zr), g.at(xw, go), batch, u);
      if (!hard) m.sigmoid(zr, 0, zrAct, 0, 2 * bu);
      g.k.gru_gates(g.at(hard ? zr : zrAct), g.at(gates, go), g.at(hs, prev), g.at(rh, prev), batch, u, hard ? 1 : 0);
      m.gemm(batch, u, u, rows(rh, prev, u), recurrentH, rows(hr, 0, u), false);
      g.k.gru_candidate(g.at(xw, go + 2 * u), g.at(hr), g.at(twice), batch, u);
      m.sigmoid(twice, 0, sig, 0, bu);
      g.k.gru_out(g.at(sig), g.at(gates, go), g.at(hs, prev), g.at(hs, next), mask ? g.at(mask, t * batch) : -1, batch, u);
      continue;
    }
    {
      const ZR = m.f32(zr);
      const XW = m.f32(xw);
      for (let b = 0; b < batch; b++) {
        const gr = go + b * g3;
        const zrr = b * 2 * u;
        for (let j = 0; j < 2 * u; j++) ZR[zrr + j] += XW[gr + j];
      }
    }
    // One vectorised sigmoid over the [z, r] block (a Math.exp per element was most of the loop).
    if (!hard) m.sigmoid(zr, 0, zrAct, 0, 2 * bu);
    {
      const ZA = m.f32(hard ? zr : zrAct);
      const H = m.f32(hs);
      const GA = m.f32(gates);
      const RH = m.f32(rh);
      for (let b = 0; b < batch; b++) {
        const gr = go + b * g3;
        const zrr = b * 2 * u;
        const sr = b * u;
        for (let j = 0; j < u; j++) {
          const zv = hard ? hardSigmoid(ZA[zrr + j]) : ZA[zrr + j];
          const r = hard ? hardSigmoid(ZA[zrr + u + j]) : ZA[zrr + u + j];
          GA[gr + j] = zv;
          GA[gr + u + j] = r;
          RH[prev + sr + j] = r * H[prev + sr + j];
        }
      }
    }
    // (r * h_{t-1}) times the last u columns of U.
    m.gemm(batch, u, u, rows(rh, prev, u), recurrentH, rows(hr, 0, u), false);
    {
      const HR = m.f32(hr);
      const XW = m.f32(xw);
      const TW = m.f32(twice);
      for (let b = 0; b < batch; b++) {
        const gr = go + b * g3 + 2 * u;
        const sr = b * u;
        for (let j = 0; j < u; j++) TW[sr + j] = 2 * (XW[gr + j] + HR[sr + j]);
      }
    }
    m.sigmoid(twice, 0, sig, 0, bu);
    {
      const SG = m.f32(sig);
      const H = m.f32(hs);
      const GA = m.f32(gates);
      const M = mask ? m.f32(mask) : null;
      for (let b = 0; b < batch; b++) {
        const gr = go + b * g3;
        const sr = b * u;
        const keep = M === null || M[t * batch + b] !== 0;
        for (let j = 0; j < u; j++) {
          const hh = 2 * SG[sr + j] - 1;
          GA[gr + 2 * u + j] = hh;
          const zv = GA[gr + j];
          const hp = H[prev + sr + j];
          H[next + sr + j] = keep ? zv * hp + (1 - zv) * hh : hp;
        }
      }
    }
  }

  const H = m.f32(hs);
  const O = m.f32(out);
  if (attrs.returnSequences) O.set(H.subarray(bu, (steps + 1) * bu));
  else O.set(H.subarray(steps * bu, (steps + 1) * bu));
  for (const temp of [zr, zrAct, hr, twice, sig]) m.free(temp);
  m.release(recurrentZr);
  m.release(recurrentH);
  return [out, hs, gates, rh];
}

function gruBackward(m: Machine, inputs: Inputs, attrs: SequenceAttrs): tf.TensorInfo[] {
  const dOut = required(inputs, 'dOut');
  const kernel = required(inputs, 'recurrentKernel');
  const hs = required(inputs, 'hs');
  const gates = required(inputs, 'gates');
  const rh = required(inputs, 'rh');
  const mask = inputs['mask'];
  const [steps, batch, g3] = gates.shape;
  const u = g3 / 3;
  const bu = batch * u;
  const hard = attrs.recurrentActivation === 'hardSigmoid';

  const dz = m.alloc([steps, batch, g3]);
  const dzr = m.alloc([steps, batch, 2 * u]);
  const dhh = m.alloc([steps, batch, u]); // d pre-activation of the candidate state
  const dh = m.alloc([batch, u]); // d loss / d h_t; ends as dh0
  const drh = m.alloc([batch, u]);
  const dBias = m.alloc([g3]);
  const biasSum = new Float64Array(g3);
  const recurrentHT = m.fix(u, u, transposed(kernel, 2 * u, g3));
  const recurrentZrT = m.fix(2 * u, u, transposed(kernel, 0, g3));
  copyRow(m, dOut, attrs.returnSequences ? steps - 1 : 0, bu, dh);
  const g = m.gateKernels(u);
  // The SIMD kernels sum dBias in place (float32); the JS loops in biasSum.
  m.f32(dBias).fill(0);

  for (let t = steps - 1; t >= 0; t--) {
    const go = t * batch * g3;
    const so = t * bu;
    const extra = attrs.returnSequences && t > 0 ? (t - 1) * bu : -1;
    const maskAt = g && mask ? g.at(mask, t * batch) : -1;
    if (g) {
      g.k.gru_backward_zh(g.at(gates, go), g.at(hs, so), g.at(dh), g.at(dz, go), g.at(dzr, t * batch * 2 * u), g.at(dhh, so), g.at(dBias), maskAt, batch, u, hard ? 1 : 0);
    } else {
      const DHH = m.f32(dhh);
      const DZR = m.f32(dzr);
      const DZ = m.f32(dz);
      const DH = m.f32(dh);
      const GA = m.f32(gates);
      const H = m.f32(hs);
      const M = mask ? m.f32(mask) : null;
      for (let b = 0; b < batch; b++) {
        const gr = go + b * g3;
        const zrr = (t * batch + b) * 2 * u;
        const sr = b * u;
        const keep = M === null || M[t * batch + b] !== 0;
        for (let j = 0; j < u; j++) {
          if (!keep) {
            DHH[so + sr + j] = 0;
            DZR[zrr + j] = 0;
            DZ[gr + j] = 0;
            DZ[gr + 2 * u + j] = 0;
            continue;
          }
          const zv = GA[gr + j];
          const hh = GA[gr + 2 * u + j];
          const dhv = DH[sr + j];
          const dAz = flushTiny(dhv * (H[so + sr + j] - hh) * gateSlope(zv, hard));
          const dAh = flushTiny(dhv * (1 - zv) * (1 - hh * hh));
          DZR[zrr + j] = dAz;
          DZ[gr + j] = dAz;
          DHH[so + sr + j] = dAh;
          DZ[gr + 2 * u + j] = dAh;
          biasSum[j] += dAz;
          biasSum[2 * u + j] += dAh;
        }
      }
    }
    // d(r * h_{t-1}) = dhh·U_hᵀ
    m.gemm(batch, u, u, rows(dhh, so, u), recurrentHT, rows(drh, 0, u), false);
    if (g) {
      const extraAt = extra >= 0 ? g.at(dOut, extra) : -1;
      g.k.gru_backward_r(g.at(gates, go), g.at(hs, so), g.at(drh), g.at(dh), g.at(dz, go), g.at(dzr, t * batch * 2 * u), extraAt, g.at(dBias), maskAt, batch, u, hard ? 1 : 0);
    } else {
      const DRH = m.f32(drh);
      const DZR = m.f32(dzr);
      const DZ = m.f32(dz);
      const DH = m.f32(dh);
      const GA = m.f32(gates);
      const H = m.f32(hs);
      const D = m.f32(dOut);
      const M = mask ? m.f32(mask) : null;
      for (let b = 0; b < batch; b++) {
        const gr = go + b * g3;
        const zrr = (t * batch + b) * 2 * u;
        const sr = b * u;
        const keep = M === null || M[t * batch + b] !== 0;
        for (let j = 0; j < u; j++) {
          const add = extra >= 0 ? D[extra + sr + j] : 0;
          if (!keep) {
            // h_t = h_{t-1}: dh carries over as it is.
            DZR[zrr + u + j] = 0;
            DZ[gr + u + j] = 0;
            DH[sr + j] += add;
            continue;
          }
          const zv = GA[gr + j];
          const r = GA[gr + u + j];
          const d = DRH[sr + j];
          const dAr = flushTiny(d * H[so + sr + j] * gateSlope(r, hard));
          DZR[zrr + u + j] = dAr;
          DZ[gr + u + j] = dAr;
          biasSum[u + j] += dAr;
          // The direct paths to h_{t-1}: through z*h_{t-1} and through r*h_{t-1}.
          DH[sr + j] = flushTiny(DH[sr + j] * zv + d * r + add);
        }
      }
    }
    if (t === 0 && !attrs.initialStateGrad) break;
    // dh_{t-1} += [dz, dr]·U_zrᵀ
    m.gemm(batch, u, 2 * u, rows(dzr, t * batch * 2 * u, 2 * u), recurrentZrT, rows(dh, 0, u), true);
  }

  if (!g) m.f32(dBias).set(biasSum);
  // dU[:, z r] = [h_0..h_{T-1}]ᵀ·[dz dr], dU[:, h] = [rh_1..rh_T]ᵀ·dhh, over all T·B rows.
  const dRecurrent = m.alloc([u, g3]);
  m.gemm(u, 2 * u, steps * batch, transposed(hs, 0, u), rows(dzr, 0, 2 * u), rows(dRecurrent, 0, g3), false);
  m.gemm(u, u, steps * batch, transposed(rh, 0, u), rows(dhh, 0, u), rows(dRecurrent, 2 * u, g3), false);
  for (const temp of [drh, dzr, dhh]) m.free(temp);
  m.release(recurrentHT);
  m.release(recurrentZrT);
  return [dz, dh, dBias, dRecurrent];
}

type SequenceKernel = (m: Machine, inputs: Inputs, attrs: SequenceAttrs) => tf.TensorInfo[];

function onBackend(kernel: SequenceKernel, makeMachine: (backend: unknown) => Machine): tf.KernelFunc {
  return (args: KernelArgs) => {
    const m = makeMachine(args.backend);
    try {
      return kernel(m, args.inputs as Inputs, readAttrs(args.attrs));
    } finally {
      m.finish();
    }
  };
}

const KERNELS: ReadonlyArray<[string, SequenceKernel]> = [
  [LSTM_SEQUENCE, lstmForward],
  [LSTM_SEQUENCE_GRAD, lstmBackward],
  [GRU_SEQUENCE, gruForward],
  [GRU_SEQUENCE_GRAD, gruBackward],
];

const MACHINES: ReadonlyArray<[string, (backend: unknown) => Machine]> = [
  ['cpu', (backend) => new CpuMachine(asCpuBackend(backend))],
  ['wasm', (backend) => new WasmMachine(asWasmBackend(backend))],
];

/**
 * Registers the sequence kernels for cpu and wasm in this thread's kernel registry (each
 * worker thread has its own). Idempotent.
 */
function registerRecurrentKernels(): void {
  for (const [backendName, makeMachine] of MACHINES) {
    for (const [kernelName, kernel] of KERNELS) {
      if (tf.getKernel(kernelName, backendName)) continue;
      tf.registerKernel({ kernelName, backendName, kernelFunc: onBackend(kernel, makeMachine) });
    }
  }
}

// Unlike the wasm kernels in ./index, these are registered as soon as a layer imports their
// names: they serve the cpu backend too (the tests' reference), where no initBackend may run.
registerRecurrentKernels();
