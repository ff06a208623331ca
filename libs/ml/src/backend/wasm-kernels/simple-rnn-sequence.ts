import * as tf from '@tensorflow/tfjs';
import {
  asCpuBackend,
  copyRow,
  CpuMachine,
  GRADIENT_FLOOR,
  Inputs,
  Machine,
  required,
  rows,
  transposed,
  WasmMachine,
} from './recurrent-sequence';
import { asWasmBackend, KernelArgs } from './wasm-internals';

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
 * The activation runs on each step's [B, u] block. On wasm: tanh(x) = 2·sigmoid(2x) − 1 on the
 * backend's vectorised sigmoid (as the LSTM and GRU kernels compute their tanh; the backend's own
 * Tanh kernel over heap views was slower: simple-rnn-lm's layer, forward and backward, took 16 ms
 * of CPU with it and 12 ms with the sigmoid, one core, machine loaded), and the passes over
 * [B, u] (doubling, 2s − 1 or relu with the mask, the backward step) in the SIMD gate module
 * (rnn-simd: f32x4 over floor(u/4)·4 columns and a one-lane tail, any u). On cpu (the tests'
 * reference): Math.tanh, what the cpu backend's Tanh runs, and plain loops.
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

function simpleRnnForward(m: Machine, inputs: Inputs, attrs: SimpleRnnAttrs): tf.TensorInfo[] {
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
  const g = m.gateKernels(u);
  const tanh = attrs.activation === 'tanh';

  for (let t = 0; t < steps; t++) {
    const prev = t * bu;
    const next = prev + bu;
    // z = xw_t + h_{t-1}·U
    m.f32(z).set(m.f32(xw).subarray(prev, next));
    m.gemm(batch, u, u, rows(hs, prev, u), recurrent, rows(z, 0, u), true);
    if (g) {
      const maskAt = mask ? g.at(mask, t * batch) : -1;
      if (tanh) {
        // sigmoid(2z) straight into h_t's rows, then 2s − 1 (and the mask) in place.
        g.k.srnn_double(g.at(z), bu);
        m.sigmoid(z, 0, hs, next, bu);
        g.k.srnn_out(g.at(hs, next), g.at(hs, prev), g.at(hs, next), maskAt, batch, u, 0);
      } else {
        g.k.srnn_out(g.at(z), g.at(hs, prev), g.at(hs, next), maskAt, batch, u, 1);
      }
      continue;
    }
    if (tanh) {
      const Z = m.f32(z);
      const H = m.f32(hs);
      for (let i = 0; i < bu; i++) H[next + i] = Math.tanh(Z[i]);
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

/**
 * One step of the backward time loop: dz_t = dh_t · act'(h_t) (0 where masked), summed into
 * biasSum; then dh becomes the part of dh_{t-1} that does not come through z_t: the output
 * gradient of step t-1 (`extra`, -1 for none), plus dh_t itself on masked rows.
 */
function stepGradient(
  DZ: Float32Array,
  DH: Float32Array,
  H: Float32Array,
  D: Float32Array,
  M: Float32Array | null,
  biasSum: Float64Array,
  t: number,
  batch: number,
  u: number,
  extra: number,
  tanh: boolean,
): void {
  const so = t * batch * u;
  const hNext = so + batch * u;
  const floor = GRADIENT_FLOOR;
  for (let b = 0; b < batch; b++) {
    const sr = b * u;
    if (M !== null && M[t * batch + b] === 0) {
      // A masked step passes h through: its gradient goes on to step t-1 as it is.
      DZ.fill(0, so + sr, so + sr + u);
      if (extra >= 0) for (let j = 0; j < u; j++) DH[sr + j] += D[extra + sr + j];
      continue;
    }
    const hr = hNext + sr;
    const zr = so + sr;
    for (let j = 0; j < u; j++) {
      const h = H[hr + j];
      const raw = DH[sr + j] * (tanh ? 1 - h * h : h > 0 ? 1 : 0);
      // flushTiny (./recurrent-sequence), written out.
      const d = raw > -floor && raw < floor ? 0 : raw;
      DZ[zr + j] = d;
      biasSum[j] += d;
    }
    // h_{t-1} reaches the loss through z_t (the product after this) and the output of step t-1.
    if (extra >= 0) for (let j = 0; j < u; j++) DH[sr + j] = D[extra + sr + j];
    else DH.fill(0, sr, sr + u);
  }
}

function simpleRnnBackward(m: Machine, inputs: Inputs, attrs: SimpleRnnAttrs): tf.TensorInfo[] {
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
  const g = m.gateKernels(u);
  // The SIMD kernel sums dBias in place (float32); the JS loop in biasSum.
  m.f32(dBias).fill(0);

  for (let t = steps - 1; t >= 0; t--) {
    const so = t * bu;
    // The output gradient of step t-1 (returnSequences), added to dh for the next iteration.
    const extra = attrs.returnSequences && t > 0 ? (t - 1) * bu : -1;
    if (g) {
      const maskAt = mask ? g.at(mask, t * batch) : -1;
      const extraAt = extra >= 0 ? g.at(dOut, extra) : -1;
      g.k.srnn_backward(g.at(hs, so + bu), g.at(dh), g.at(dz, so), extraAt, g.at(dBias), maskAt, batch, u, tanh ? 0 : 1);
    } else {
      stepGradient(m.f32(dz), m.f32(dh), m.f32(hs), m.f32(dOut), mask ? m.f32(mask) : null, biasSum, t, batch, u, extra, tanh);
    }
    if (t === 0 && !attrs.initialStateGrad) break;
    // dh_{t-1} += dz_t·Uᵀ
    m.gemm(batch, u, u, rows(dz, so, u), recurrentT, rows(dh, 0, u), true);
  }

  if (!g) m.f32(dBias).set(biasSum);
  // dU = [h_0..h_{T-1}]ᵀ·dz over all T·B rows.
  const dRecurrent = m.alloc([u, u]);
  m.gemm(u, u, steps * batch, transposed(hs, 0, u), rows(dz, 0, u), rows(dRecurrent, 0, u), false);
  m.release(recurrentT);
  return [dz, dh, dBias, dRecurrent];
}

type SimpleRnnKernel = (m: Machine, inputs: Inputs, attrs: SimpleRnnAttrs) => tf.TensorInfo[];

const MACHINES: ReadonlyArray<[string, (backend: unknown) => Machine]> = [
  ['cpu', (backend) => new CpuMachine(asCpuBackend(backend))],
  ['wasm', (backend) => new WasmMachine(asWasmBackend(backend))],
];

const KERNELS: ReadonlyArray<[string, SimpleRnnKernel]> = [
  [SIMPLE_RNN_SEQUENCE, simpleRnnForward],
  [SIMPLE_RNN_SEQUENCE_GRAD, simpleRnnBackward],
];

/** Registers the kernels for cpu and wasm in this thread's kernel registry. Idempotent. */
function registerSimpleRnnKernels(): void {
  for (const [backendName, makeMachine] of MACHINES) {
    for (const [kernelName, kernel] of KERNELS) {
      if (tf.getKernel(kernelName, backendName)) continue;
      const kernelFunc: tf.KernelFunc = (args: KernelArgs) => {
        const m = makeMachine(args.backend);
        try {
          return kernel(m, args.inputs as Inputs, readAttrs(args.attrs));
        } finally {
          m.finish();
        }
      };
      tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
}

// As ./recurrent-sequence: registered on import, since they serve the cpu backend too.
registerSimpleRnnKernels();
