import * as tf from '@tensorflow/tfjs';
import { asWasmBackend, HeapViews, KernelArgs, perBackend, shapeBytes, sizeOf, WasmBackend } from '../backend/wasm-kernels/wasm-internals';

/*
 * Whole-sequence LSTM and GRU kernels for the cpu and wasm backends (used by FusedLSTM and
 * FusedGRU in fused-recurrent.ts).
 *
 * tfjs-layers unrolls a recurrent layer into ~140 kernel calls per timestep (4,600 per training
 * step of the lstm-lm workload), and on wasm each call costs tens of microseconds of dispatch,
 * far more than the arithmetic on a [64, 128] state. These kernels run the whole time loop in
 * one call: per timestep one matmul of the previous state by the recurrent kernel (XNNPACK on
 * wasm-heap views, no copies) and one pass of plain loops for all the gate arithmetic, written
 * straight into the output buffers. The input projection x·W and the weight gradients stay
 * ordinary tfjs matmuls over all timesteps at once (in fused-recurrent.ts).
 *
 * Layouts (time-major, gate order as tfjs-layers: LSTM i, f, c, o; GRU z, r, h):
 * - LSTM forward  {xw [T,B,4u], recurrentKernel [u,4u], h0 [B,u], c0 [B,u], mask? [T,B]}
 *                 -> [out [K,B,u], hs [T+1,B,u], cs [T+1,B,u], gates [T,B,4u], tanhC [T,B,u]]
 * - LSTM backward {dOut [K,B,u], recurrentKernel, cs, gates, tanhC, mask?}
 *                 -> [dz [T,B,4u] (d pre-activations), dh0 [B,u], dc0 [B,u], dBias [4u]]
 * - GRU forward   {xw [T,B,3u], recurrentKernel [u,3u], h0, mask?}
 *                 -> [out [K,B,u], hs [T+1,B,u], gates [T,B,3u] (z, r, hh), rh [T,B,u] (r*h_{t-1})]
 * - GRU backward  {dOut, recurrentKernel, hs, gates, mask?}
 *                 -> [dz [T,B,3u], dzr [T,B,2u], dhh [T,B,u], dh0 [B,u], dBias [3u]]
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

export interface SequenceAttrs {
  recurrentActivation: GateActivation;
  returnSequences: boolean;
  /** LSTM only: append c_T to `out`. */
  returnCarry: boolean;
  /** Backward: also compute the gradient of the initial state (one more matmul). */
  initialStateGrad: boolean;
}

/** The backend operations a sequence kernel needs: buffers and a 2-D product. */
interface Machine {
  /** An uninitialised float32 tensor; every element must be written. */
  alloc(shape: number[]): tf.TensorInfo;
  /** The tensor's elements. On wasm this is a heap view that a later alloc or matmul may detach: fetch again after either. */
  f32(info: tf.TensorInfo): Float32Array;
  /** out[outOffset...] (m x n) = a[aOffset...] (m x k) · b (the whole tensor, k x n). */
  matmul(a: tf.TensorInfo, aOffset: number, b: tf.TensorInfo, out: tf.TensorInfo, outOffset: number, m: number, k: number, n: number): void;
  /** Frees a tensor from alloc that is not returned. */
  free(info: tf.TensorInfo): void;
  /** Releases per-call resources (wasm heap views). */
  finish(): void;
}

const wasmBatchMatMul = perBackend((backend: WasmBackend) =>
  backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']),
);

class WasmMachine implements Machine {
  private readonly views: HeapViews;
  private readonly run: ReturnType<typeof wasmBatchMatMul>;
  private readonly shapes = new Map<string, Uint8Array>();

  constructor(private readonly backend: WasmBackend) {
    this.views = new HeapViews(backend);
    this.run = wasmBatchMatMul(backend);
  }

  alloc(shape: number[]): tf.TensorInfo {
    return this.backend.makeOutput(shape, 'float32');
  }

  f32(info: tf.TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(info) as Float32Array;
  }

  matmul(a: tf.TensorInfo, aOffset: number, b: tf.TensorInfo, out: tf.TensorInfo, outOffset: number, m: number, k: number, n: number): void {
    const aId = this.views.slice(a, aOffset, m * k);
    const outId = this.views.slice(out, outOffset, m * n);
    // b is always a whole tensor: its own id keeps XNNPACK's packed-weights operator cached
    // across timesteps (the cache is keyed on the weights' id).
    const bId = this.backend.dataIdMap.get(b.dataId).id;
    this.run(aId, this.shape(1, m, k), 3, bId, this.shape(1, k, n), 3, false, false, outId);
  }

  free(info: tf.TensorInfo): void {
    this.backend.disposeData(info.dataId);
  }

  finish(): void {
    this.views.release();
  }

  private shape(...dims: number[]): Uint8Array {
    const key = dims.join(',');
    let bytes = this.shapes.get(key);
    if (!bytes) {
      bytes = shapeBytes(dims);
      this.shapes.set(key, bytes);
    }
    return bytes;
  }
}

/** What the kernels use of tfjs-backend-cpu's MathBackendCPU. */
interface CpuBackend {
  readSync(dataId: tf.DataId): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void;
}

function asCpuBackend(backend: unknown): CpuBackend {
  const b = backend as Partial<CpuBackend> | null;
  if (!b || typeof b.readSync !== 'function' || typeof b.makeTensorInfo !== 'function' || typeof b.disposeIntermediateTensorInfo !== 'function') {
    throw new Error('tfleet recurrent kernels need the tfjs cpu backend (readSync, makeTensorInfo)');
  }
  return b as CpuBackend;
}

class CpuMachine implements Machine {
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

  matmul(a: tf.TensorInfo, aOffset: number, b: tf.TensorInfo, out: tf.TensorInfo, outOffset: number, m: number, k: number, n: number): void {
    const av = this.f32(a);
    const bv = this.f32(b);
    const ov = this.f32(out);
    if (this.row.length < n) this.row = new Float64Array(n);
    const row = this.row;
    for (let i = 0; i < m; i++) {
      row.fill(0, 0, n);
      const aRow = aOffset + i * k;
      for (let p = 0; p < k; p++) {
        const x = av[aRow + p];
        if (x === 0) continue;
        const bRow = p * n;
        for (let j = 0; j < n; j++) row[j] += x * bv[bRow + j];
      }
      const oRow = outOffset + i * n;
      for (let j = 0; j < n; j++) ov[oRow + j] = row[j];
    }
  }

  free(info: tf.TensorInfo): void {
    this.backend.disposeIntermediateTensorInfo(info);
  }

  finish(): void {
    // nothing per call
  }
}

function hardSigmoid(x: number): number {
  const y = 0.2 * x + 0.5;
  return y <= 0 ? 0 : y >= 1 ? 1 : y;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** tanh through one exp (Math.tanh is 2-3x slower in V8); exact to float32 rounding, since the arithmetic is in doubles. */
function tanh(x: number): number {
  return 1 - 2 / (Math.exp(2 * x) + 1);
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

type Inputs = Record<string, tf.TensorInfo | undefined>;

function required(inputs: Inputs, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`recurrent kernel input ${name} is missing`);
  if (t.dtype !== 'float32') throw new Error(`recurrent kernel input ${name} must be float32 (got ${t.dtype})`);
  return t;
}

/** [src rows] -> dst as [cols, rows]: a transpose of a [rows, cols] matrix stored in `src`. */
function transposeInto(src: Float32Array, srcOffset: number, rows: number, cols: number, srcStride: number, dst: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[srcOffset + r * srcStride + c];
  }
}

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
  const z = m.alloc([batch, g4]);
  m.f32(hs).set(m.f32(h0));
  m.f32(cs).set(m.f32(c0));

  for (let t = 0; t < steps; t++) {
    m.matmul(hs, t * bu, kernel, z, 0, batch, u, g4);
    const Z = m.f32(z);
    const XW = m.f32(xw);
    const H = m.f32(hs);
    const C = m.f32(cs);
    const GA = m.f32(gates);
    const TC = m.f32(tanhC);
    const M = mask ? m.f32(mask) : null;
    const xo = t * batch * g4;
    const prev = t * bu;
    const next = prev + bu;
    for (let b = 0; b < batch; b++) {
      const zr = b * g4;
      const gr = xo + zr;
      const sr = b * u;
      const keep = M === null || M[t * batch + b] !== 0;
      for (let j = 0; j < u; j++) {
        const zi = Z[zr + j] + XW[gr + j];
        const zf = Z[zr + u + j] + XW[gr + u + j];
        const zc = Z[zr + 2 * u + j] + XW[gr + 2 * u + j];
        const zo = Z[zr + 3 * u + j] + XW[gr + 3 * u + j];
        const i = hard ? hardSigmoid(zi) : sigmoid(zi);
        const f = hard ? hardSigmoid(zf) : sigmoid(zf);
        const cc = tanh(zc);
        const o = hard ? hardSigmoid(zo) : sigmoid(zo);
        GA[gr + j] = i;
        GA[gr + u + j] = f;
        GA[gr + 2 * u + j] = cc;
        GA[gr + 3 * u + j] = o;
        const cPrev = C[prev + sr + j];
        // Round c to float32 before tanh, as the stock cell computes tanh of the stored c.
        const c = Math.fround(f * cPrev + i * cc);
        const tc = tanh(c);
        TC[prev + sr + j] = tc;
        if (keep) {
          C[next + sr + j] = c;
          H[next + sr + j] = o * tc;
        } else {
          C[next + sr + j] = cPrev;
          H[next + sr + j] = H[prev + sr + j];
        }
      }
    }
  }

  const O = m.f32(out);
  const H = m.f32(hs);
  if (attrs.returnSequences) O.set(H.subarray(bu, (steps + 1) * bu));
  else O.set(H.subarray(steps * bu, (steps + 1) * bu));
  if (attrs.returnCarry) O.set(m.f32(cs).subarray(steps * bu, (steps + 1) * bu), (outRows - 1) * bu);
  m.free(z);
  return [out, hs, cs, gates, tanhC];
}

function lstmBackward(m: Machine, inputs: Inputs, attrs: SequenceAttrs): tf.TensorInfo[] {
  const dOut = required(inputs, 'dOut');
  const kernel = required(inputs, 'recurrentKernel');
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
  const dh = m.alloc([batch, u]); // d loss / d h_t, becomes dh0
  const dc = m.alloc([batch, u]); // d loss / d c_t from later steps, becomes dc0
  const rec = m.alloc([batch, u]);
  const kernelT = m.alloc([g4, u]);
  const dBias = m.alloc([g4]);
  const biasSum = new Float64Array(g4);
  transposeInto(m.f32(kernel), 0, u, g4, g4, m.f32(kernelT));
  {
    const D = m.f32(dOut);
    m.f32(dh).set(D.subarray((attrs.returnSequences ? steps - 1 : 0) * bu, (attrs.returnSequences ? steps : 1) * bu));
    if (attrs.returnCarry) m.f32(dc).set(D.subarray((outRows - 1) * bu, outRows * bu));
    else m.f32(dc).fill(0);
  }

  for (let t = steps - 1; t >= 0; t--) {
    {
      const DZ = m.f32(dz);
      const DH = m.f32(dh);
      const DC = m.f32(dc);
      const GA = m.f32(gates);
      const C = m.f32(cs);
      const TC = m.f32(tanhC);
      const M = mask ? m.f32(mask) : null;
      const go = t * batch * g4;
      const so = t * bu;
      for (let b = 0; b < batch; b++) {
        const gr = go + b * g4;
        const sr = b * u;
        if (M !== null && M[t * batch + b] === 0) {
          // A masked step passes h and c through: their gradients go on to step t-1 untouched.
          DZ.fill(0, gr, gr + g4);
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
          const di = dcv * cc * gateSlope(i, hard);
          const df = dcv * C[so + sr + j] * gateSlope(f, hard);
          const dcc = dcv * i * (1 - cc * cc);
          const dout = dhv * tc * gateSlope(o, hard);
          DZ[gr + j] = di;
          DZ[gr + u + j] = df;
          DZ[gr + 2 * u + j] = dcc;
          DZ[gr + 3 * u + j] = dout;
          biasSum[j] += di;
          biasSum[u + j] += df;
          biasSum[2 * u + j] += dcc;
          biasSum[3 * u + j] += dout;
          DC[sr + j] = dcv * f;
          DH[sr + j] = 0;
        }
      }
    }
    if (t === 0 && !attrs.initialStateGrad) break;
    m.matmul(dz, t * batch * g4, kernelT, rec, 0, batch, g4, u);
    const DH = m.f32(dh);
    const R = m.f32(rec);
    const D = m.f32(dOut);
    const extra = attrs.returnSequences && t > 0 ? (t - 1) * bu : -1;
    for (let k = 0; k < bu; k++) DH[k] += R[k] + (extra >= 0 ? D[extra + k] : 0);
  }

  m.f32(dBias).set(biasSum);
  m.free(rec);
  m.free(kernelT);
  return [dz, dh, dc, dBias];
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
  const hr = m.alloc([batch, u]);
  // The z/r columns and the h columns of the recurrent kernel as two contiguous matrices.
  const kernelZr = m.alloc([u, 2 * u]);
  const kernelH = m.alloc([u, u]);
  {
    const K = m.f32(kernel);
    const KZR = m.f32(kernelZr);
    const KH = m.f32(kernelH);
    for (let r = 0; r < u; r++) {
      KZR.set(K.subarray(r * g3, r * g3 + 2 * u), r * 2 * u);
      KH.set(K.subarray(r * g3 + 2 * u, (r + 1) * g3), r * u);
    }
  }
  m.f32(hs).set(m.f32(h0));

  for (let t = 0; t < steps; t++) {
    const xo = t * batch * g3;
    const prev = t * bu;
    const next = prev + bu;
    m.matmul(hs, prev, kernelZr, zr, 0, batch, u, 2 * u);
    {
      const ZR = m.f32(zr);
      const XW = m.f32(xw);
      const H = m.f32(hs);
      const GA = m.f32(gates);
      const RH = m.f32(rh);
      for (let b = 0; b < batch; b++) {
        const gr = xo + b * g3;
        const zrr = b * 2 * u;
        const sr = b * u;
        for (let j = 0; j < u; j++) {
          const az = ZR[zrr + j] + XW[gr + j];
          const ar = ZR[zrr + u + j] + XW[gr + u + j];
          const z = hard ? hardSigmoid(az) : sigmoid(az);
          const r = hard ? hardSigmoid(ar) : sigmoid(ar);
          GA[gr + j] = z;
          GA[gr + u + j] = r;
          RH[prev + sr + j] = r * H[prev + sr + j];
        }
      }
    }
    m.matmul(rh, prev, kernelH, hr, 0, batch, u, u);
    {
      const HR = m.f32(hr);
      const XW = m.f32(xw);
      const H = m.f32(hs);
      const GA = m.f32(gates);
      const M = mask ? m.f32(mask) : null;
      for (let b = 0; b < batch; b++) {
        const gr = xo + b * g3;
        const sr = b * u;
        const keep = M === null || M[t * batch + b] !== 0;
        for (let j = 0; j < u; j++) {
          const hh = tanh(XW[gr + 2 * u + j] + HR[sr + j]);
          GA[gr + 2 * u + j] = hh;
          const z = GA[gr + j];
          const hp = H[prev + sr + j];
          H[next + sr + j] = keep ? z * hp + (1 - z) * hh : hp;
        }
      }
    }
  }

  const H = m.f32(hs);
  const O = m.f32(out);
  if (attrs.returnSequences) O.set(H.subarray(bu, (steps + 1) * bu));
  else O.set(H.subarray(steps * bu, (steps + 1) * bu));
  for (const temp of [zr, hr, kernelZr, kernelH]) m.free(temp);
  return [out, hs, gates, rh];
}

function gruBackward(m: Machine, inputs: Inputs, attrs: SequenceAttrs): tf.TensorInfo[] {
  const dOut = required(inputs, 'dOut');
  const kernel = required(inputs, 'recurrentKernel');
  const hs = required(inputs, 'hs');
  const gates = required(inputs, 'gates');
  const mask = inputs['mask'];
  const [steps, batch, g3] = gates.shape;
  const u = g3 / 3;
  const bu = batch * u;
  const hard = attrs.recurrentActivation === 'hardSigmoid';

  const dz = m.alloc([steps, batch, g3]);
  const dzr = m.alloc([steps, batch, 2 * u]);
  const dhh = m.alloc([steps, batch, u]); // d pre-activation of the candidate state
  const dh = m.alloc([batch, u]); // d loss / d h_t, becomes dh0
  const drh = m.alloc([batch, u]);
  const rec = m.alloc([batch, u]);
  const kernelZrT = m.alloc([2 * u, u]);
  const kernelHT = m.alloc([u, u]);
  const dBias = m.alloc([g3]);
  const biasSum = new Float64Array(g3);
  {
    const K = m.f32(kernel);
    transposeInto(K, 0, u, 2 * u, g3, m.f32(kernelZrT));
    transposeInto(K, 2 * u, u, u, g3, m.f32(kernelHT));
    const D = m.f32(dOut);
    m.f32(dh).set(D.subarray((attrs.returnSequences ? steps - 1 : 0) * bu, (attrs.returnSequences ? steps : 1) * bu));
  }

  for (let t = steps - 1; t >= 0; t--) {
    const go = t * batch * g3;
    const so = t * bu;
    {
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
          const z = GA[gr + j];
          const hh = GA[gr + 2 * u + j];
          const dhv = DH[sr + j];
          const dAz = dhv * (H[so + sr + j] - hh) * gateSlope(z, hard);
          const dAh = dhv * (1 - z) * (1 - hh * hh);
          DZR[zrr + j] = dAz;
          DZ[gr + j] = dAz;
          DHH[so + sr + j] = dAh;
          DZ[gr + 2 * u + j] = dAh;
          biasSum[j] += dAz;
          biasSum[2 * u + j] += dAh;
        }
      }
    }
    m.matmul(dhh, so, kernelHT, drh, 0, batch, u, u);
    {
      const DRH = m.f32(drh);
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
            // h_t = h_{t-1}: dh carries over as it is.
            DZR[zrr + u + j] = 0;
            DZ[gr + u + j] = 0;
            continue;
          }
          const z = GA[gr + j];
          const r = GA[gr + u + j];
          const d = DRH[sr + j];
          const dAr = d * H[so + sr + j] * gateSlope(r, hard);
          DZR[zrr + u + j] = dAr;
          DZ[gr + u + j] = dAr;
          biasSum[u + j] += dAr;
          // The direct paths to h_{t-1}: through z*h_{t-1} and through r*h_{t-1}.
          DH[sr + j] = DH[sr + j] * z + d * r;
        }
      }
    }
    if (t === 0 && !attrs.initialStateGrad) break;
    m.matmul(dzr, t * batch * 2 * u, kernelZrT, rec, 0, batch, 2 * u, u);
    const DH = m.f32(dh);
    const R = m.f32(rec);
    const D = m.f32(dOut);
    const extra = attrs.returnSequences && t > 0 ? (t - 1) * bu : -1;
    for (let k = 0; k < bu; k++) DH[k] += R[k] + (extra >= 0 ? D[extra + k] : 0);
  }

  m.f32(dBias).set(biasSum);
  for (const temp of [drh, rec, kernelZrT, kernelHT]) m.free(temp);
  return [dz, dzr, dhh, dh, dBias];
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
 * worker thread has its own). Idempotent; importing fused-recurrent.ts calls it.
 */
export function registerRecurrentKernels(): void {
  for (const [backendName, makeMachine] of MACHINES) {
    for (const [kernelName, kernel] of KERNELS) {
      if (tf.getKernel(kernelName, backendName)) continue;
      tf.registerKernel({ kernelName, backendName, kernelFunc: onBackend(kernel, makeMachine) });
    }
  }
}

/** Whether the active backend has the sequence kernels (else the layers run tfjs-layers' own loop). */
export function recurrentKernelsAvailable(): boolean {
  const backend = tf.getBackend();
  return backend !== undefined && tf.getKernel(LSTM_SEQUENCE, backend) !== undefined;
}
