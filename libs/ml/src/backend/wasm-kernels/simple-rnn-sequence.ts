import * as tf from '@tensorflow/tfjs';
import {
  asCpuBackend,
  copyRow,
  CpuMachine,
  flushTiny,
  Inputs,
  Machine,
  required,
  rows,
  transposed,
  WasmMachine,
} from './recurrent-sequence';
import { asWasmBackend, HeapViews, KernelArgs, perBackend, WasmBackend } from './wasm-internals';

/*
 * Whole-sequence SimpleRNN kernels for the cpu and wasm backends (used by FusedSimpleRNN in
 * layers/fused-simple-rnn.ts), built like the LSTM and GRU ones in ./recurrent-sequence.ts and
 * on the same Machine (buffers and the project's GEMM on wasm-heap views).
 *
 * h_t = act(xw_t + h_{t-1}·U), act tanh or relu, xw = x·W + b computed by the layer for all
 * timesteps in one matmul. Layouts (time-major):
 * - forward  {xw [T,B,u], recurrentKernel [u,u], h0 [B,u], mask? [T,B]}
 *            -> [out [K,B,u], hs [T+1,B,u]]
 * - backward {dOut [K,B,u], recurrentKernel, hs, mask?}
 *            -> [dz [T,B,u] (d pre-activations), dh0 [B,u], dBias [u], dRecurrentKernel [u,u]]
 * `out` holds h_1..h_T (returnSequences) or h_T; hs starts with h0. A mask row of 0 carries the
 * state through that step unchanged, as tfjs-layers does.
 *
 * The activation runs on each step's [B, u] block: on wasm the backend's own Tanh kernel over
 * heap views (the function tf.tanh runs there, so the stock layer and this one round alike), on
 * cpu Math.tanh (what the cpu backend's Tanh runs); relu is a plain loop. There is no SIMD gate
 * module for this cell: per step it is one GEMM of [B, u]·[u, u], one activation call and one
 * pass over [B, u] in each direction.
 */

export const SIMPLE_RNN_SEQUENCE = 'TfleetSimpleRnnSequence';
export const SIMPLE_RNN_SEQUENCE_GRAD = 'TfleetSimpleRnnSequenceGrad';

/** Cell activations the kernels implement. */
export type SimpleRnnActivation = 'tanh' | 'relu';

interface SimpleRnnAttrs {
  activation: SimpleRnnActivation;
  returnSequences: boolean;
  /** Backward: also compute the gradient of the initial state (one more product). */
  initialStateGrad: boolean;
}

function readAttrs(attrs: KernelArgs['attrs']): SimpleRnnAttrs {
  const activation = attrs?.['activation'];
  if (activation !== 'tanh' && activation !== 'relu') throw new Error(`simple RNN kernels support tanh and relu (got ${String(activation)})`);
  return {
    activation: activation === 'tanh' ? 'tanh' : 'relu',
    returnSequences: attrs?.['returnSequences'] === true,
    initialStateGrad: attrs?.['initialStateGrad'] === true,
  };
}

/** dst[dstOffset + i] = tanh(src[i]) for i < count, on the backend's own tanh. */
interface Tanh {
  run(src: tf.TensorInfo, dst: tf.TensorInfo, dstOffset: number, count: number): void;
  finish(): void;
}

const wasmTanhFn = perBackend((backend: WasmBackend) => backend.wasm.cwrap('Tanh', null, ['number', 'number', 'number']));
/** tfjs-backend-wasm's CppDType.float32. */
const WASM_FLOAT32 = 0;

class WasmTanh implements Tanh {
  private readonly views: HeapViews;
  private readonly fn: ReturnType<typeof wasmTanhFn>;

  constructor(backend: WasmBackend) {
    this.views = new HeapViews(backend);
    this.fn = wasmTanhFn(backend);
  }

  run(src: tf.TensorInfo, dst: tf.TensorInfo, dstOffset: number, count: number): void {
    this.fn(this.views.slice(src, 0, count), WASM_FLOAT32, this.views.slice(dst, dstOffset, count));
  }

  finish(): void {
    this.views.release();
  }
}

class CpuTanh implements Tanh {
  constructor(private readonly m: Machine) {}

  run(src: tf.TensorInfo, dst: tf.TensorInfo, dstOffset: number, count: number): void {
    const s = this.m.f32(src);
    const d = this.m.f32(dst);
    for (let i = 0; i < count; i++) d[dstOffset + i] = Math.tanh(s[i]);
  }

  finish(): void {
    // nothing per call
  }
}

interface Engine {
  m: Machine;
  tanh: Tanh;
}

function simpleRnnForward(e: Engine, inputs: Inputs, attrs: SimpleRnnAttrs): tf.TensorInfo[] {
  const { m } = e;
  const xw = required(inputs, 'xw');
  const kernel = required(inputs, 'recurrentKernel');
  const h0 = required(inputs, 'h0');
  const mask = inputs['mask'];
  const [steps, batch, u] = xw.shape;
  const bu = batch * u;
  const outRows = attrs.returnSequences ? steps : 1;

  const out = m.alloc([outRows, batch, u]);
  const hs = m.alloc([steps + 1, batch, u]);
  const z = m.alloc([batch, u]); // pre-activations of the current step
  const recurrent = m.fix(u, u, rows(kernel, 0, u));
  copyRow(m, h0, 0, bu, hs);

  for (let t = 0; t < steps; t++) {
    const prev = t * bu;
    const next = prev + bu;
    // z = xw_t + h_{t-1}·U
    m.f32(z).set(m.f32(xw).subarray(prev, next));
    m.gemm(batch, u, u, rows(hs, prev, u), recurrent, rows(z, 0, u), true);
    if (attrs.activation === 'tanh') {
      e.tanh.run(z, hs, next, bu);
    } else {
      const Z = m.f32(z);
      const H = m.f32(hs);
      for (let i = 0; i < bu; i++) H[next + i] = Z[i] > 0 ? Z[i] : 0;
    }
    if (mask) {
      const M = m.f32(mask);
      const H = m.f32(hs);
      for (let b = 0; b < batch; b++) {
        if (M[t * batch + b] === 0) H.copyWithin(next + b * u, prev + b * u, prev + (b + 1) * u);
      }
    }
  }

  const H = m.f32(hs);
  const O = m.f32(out);
  if (attrs.returnSequences) O.set(H.subarray(bu, (steps + 1) * bu));
  else O.set(H.subarray(steps * bu, (steps + 1) * bu));
  m.free(z);
  m.release(recurrent);
  return [out, hs];
}

function simpleRnnBackward(e: Engine, inputs: Inputs, attrs: SimpleRnnAttrs): tf.TensorInfo[] {
  const { m } = e;
  const dOut = required(inputs, 'dOut');
  const kernel = required(inputs, 'recurrentKernel');
  const hs = required(inputs, 'hs');
  const mask = inputs['mask'];
  const [stepsPlusOne, batch, u] = hs.shape;
  const steps = stepsPlusOne - 1;
  const bu = batch * u;
  const tanh = attrs.activation === 'tanh';

  const dz = m.alloc([steps, batch, u]);
  const dh = m.alloc([batch, u]); // d loss / d h_t; ends as dh0
  const dBias = m.alloc([u]);
  const biasSum = new Float64Array(u);
  const recurrentT = m.fix(u, u, transposed(kernel, 0, u));
  copyRow(m, dOut, attrs.returnSequences ? steps - 1 : 0, bu, dh);

  for (let t = steps - 1; t >= 0; t--) {
    const so = t * bu;
    const hNext = so + bu;
    // The output gradient of step t-1 (returnSequences), added to dh for the next iteration.
    const extra = attrs.returnSequences && t > 0 ? (t - 1) * bu : -1;
    const DZ = m.f32(dz);
    const DH = m.f32(dh);
    const H = m.f32(hs);
    const D = m.f32(dOut);
    const M = mask ? m.f32(mask) : null;
    for (let b = 0; b < batch; b++) {
      const sr = b * u;
      if (M !== null && M[t * batch + b] === 0) {
        // A masked step passes h through: its gradient goes on to step t-1 as it is.
        DZ.fill(0, so + sr, so + sr + u);
        if (extra >= 0) for (let j = 0; j < u; j++) DH[sr + j] += D[extra + sr + j];
        continue;
      }
      for (let j = 0; j < u; j++) {
        const h = H[hNext + sr + j];
        const slope = tanh ? 1 - h * h : h > 0 ? 1 : 0;
        const d = flushTiny(DH[sr + j] * slope);
        DZ[so + sr + j] = d;
        biasSum[j] += d;
        // h_{t-1} reaches the loss through z_t (the product below) and the output of step t-1.
        DH[sr + j] = extra >= 0 ? D[extra + sr + j] : 0;
      }
    }
    if (t === 0 && !attrs.initialStateGrad) break;
    // dh_{t-1} += dz_t·Uᵀ
    m.gemm(batch, u, u, rows(dz, so, u), recurrentT, rows(dh, 0, u), true);
  }

  m.f32(dBias).set(biasSum);
  // dU = [h_0..h_{T-1}]ᵀ·dz over all T·B rows.
  const dRecurrent = m.alloc([u, u]);
  m.gemm(u, u, steps * batch, transposed(hs, 0, u), rows(dz, 0, u), rows(dRecurrent, 0, u), false);
  m.release(recurrentT);
  return [dz, dh, dBias, dRecurrent];
}

type SimpleRnnKernel = (e: Engine, inputs: Inputs, attrs: SimpleRnnAttrs) => tf.TensorInfo[];

const ENGINES: ReadonlyArray<[string, (backend: unknown) => Engine]> = [
  [
    'cpu',
    (backend) => {
      const m = new CpuMachine(asCpuBackend(backend));
      return { m, tanh: new CpuTanh(m) };
    },
  ],
  [
    'wasm',
    (backend) => {
      const wasm = asWasmBackend(backend);
      return { m: new WasmMachine(wasm), tanh: new WasmTanh(wasm) };
    },
  ],
];

const KERNELS: ReadonlyArray<[string, SimpleRnnKernel]> = [
  [SIMPLE_RNN_SEQUENCE, simpleRnnForward],
  [SIMPLE_RNN_SEQUENCE_GRAD, simpleRnnBackward],
];

/** Registers the kernels for cpu and wasm in this thread's kernel registry. Idempotent. */
function registerSimpleRnnKernels(): void {
  for (const [backendName, makeEngine] of ENGINES) {
    for (const [kernelName, kernel] of KERNELS) {
      if (tf.getKernel(kernelName, backendName)) continue;
      const kernelFunc: tf.KernelFunc = (args: KernelArgs) => {
        const e = makeEngine(args.backend);
        try {
          return kernel(e, args.inputs as Inputs, readAttrs(args.attrs));
        } finally {
          e.tanh.finish();
          e.m.finish();
        }
      };
      tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
}

// As ./recurrent-sequence: registered on import, since they serve the cpu backend too.
registerSimpleRnnKernels();
