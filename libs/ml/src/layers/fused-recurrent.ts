import * as tf from '@tensorflow/tfjs';
import {
  type GateActivation,
  GRU_SEQUENCE,
  GRU_SEQUENCE_GRAD,
  LSTM_SEQUENCE,
  LSTM_SEQUENCE_GRAD,
} from '../backend/wasm-kernels/recurrent-sequence';
import { CallMemo, kwargTensors } from './call-memo';

type LstmArgs = Parameters<typeof tf.layers.lstm>[0];
type GruArgs = Parameters<typeof tf.layers.gru>[0];
type Lstm = ReturnType<typeof tf.layers.lstm>;
type Gru = ReturnType<typeof tf.layers.gru>;
type RnnLayer = Lstm | Gru;
type Kwargs = Parameters<Lstm['call']>[1];
type ApplyKwargs = Parameters<tf.layers.Layer['apply']>[1];
/** What `registerClass` needs of a constructor besides `new`. */
type FromConfig = Pick<typeof tf.layers.Layer, 'fromConfig'>;
type LayerVariable = tf.layers.Layer['weights'][number];

// tfjs-layers exports factories, not the classes; subclassing needs the constructors.
const LstmBase = tf.layers.lstm({ units: 1 }).constructor as (new (args: LstmArgs) => Lstm) & FromConfig;
const GruBase = tf.layers.gru({ units: 1 }).constructor as (new (args: GruArgs) => Gru) & FromConfig;

/** The parts of tfjs-layers' LSTMCell / GRUCell the fused path reads (public fields in 4.22). */
interface RecurrentCell {
  units: number;
  activation: { getClassName(): string };
  recurrentActivation: { getClassName(): string };
  useBias: boolean;
  dropout: number;
  recurrentDropout: number;
  kernel: LayerVariable;
  recurrentKernel: LayerVariable;
  bias: LayerVariable | null;
}

type Kind = 'lstm' | 'gru';

interface SequenceShape {
  kind: Kind;
  steps: number;
  batch: number;
  features: number;
  units: number;
  gate: GateActivation;
  returnSequences: boolean;
  returnState: boolean;
}

/**
 * The gate activation when this call can take the fused path, else null: stateful layers,
 * dropout inside the cell, other activations than tanh with (hard) sigmoid gates, and backends
 * without the sequence kernels run tfjs-layers' own per-timestep loop.
 */
function fusedGate(layer: RnnLayer, cell: RecurrentCell): GateActivation | null {
  if (layer.stateful || cell.dropout > 0 || cell.recurrentDropout > 0) return null;
  if (cell.activation.getClassName() !== 'tanh') return null;
  const gate = cell.recurrentActivation.getClassName();
  if (gate !== 'hardSigmoid' && gate !== 'sigmoid') return null;
  const backend = tf.getBackend();
  return backend !== undefined && tf.getKernel(LSTM_SEQUENCE, backend) !== undefined ? gate : null;
}

function cellOf(layer: RnnLayer): RecurrentCell {
  return layer.cell as unknown as RecurrentCell;
}

export function asTensorList(value: unknown): tf.Tensor[] | undefined {
  if (value == null) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (!list.every((t) => t instanceof tf.Tensor)) throw new Error('initialState must be tensors');
  return list as tf.Tensor[];
}

/** [B, T] (or [B, T, 1]) mask, nonzero = real step, as float32 [T, B] in processing order. */
export function timeMajorMask(mask: unknown, batch: number, steps: number, goBackwards: boolean): tf.Tensor2D | null {
  const m = Array.isArray(mask) ? mask[0] : mask;
  if (!(m instanceof tf.Tensor)) return null;
  if (m.size !== batch * steps) throw new Error(`mask of shape [${m.shape}] does not fit input [${batch}, ${steps}, ...]`);
  const asFloat = tf.cast(tf.notEqual(m.reshape([batch, steps]), 0), 'float32');
  const timeMajor = tf.transpose(asFloat) as tf.Tensor2D;
  return goBackwards ? (tf.reverse(timeMajor, 0) as tf.Tensor2D) : timeMajor;
}

/**
 * One LSTM or GRU layer over a whole sequence with a custom gradient.
 *
 * Differentiable inputs: xs = inputs as [T*B, features] (time-major), kernel, recurrent kernel,
 * bias (when used), initial states (when given). Forward: one matmul x·W (+b) for all
 * timesteps, then the sequence kernel (per timestep one h·U and the gate arithmetic). Backward:
 * the gradient kernel (per timestep one dz·Uᵀ and the gate derivatives), then dW = Xᵀ·dZ,
 * dU = H_{t-1}ᵀ·dZ, db = Σ dZ and dX = dZ·Wᵀ, each one matmul over all timesteps.
 * Returns `out` [K, B, u]: h_1..h_T (returnSequences) or h_T, then c_T (LSTM with returnState).
 */
function sequenceOp(shape: SequenceShape, hasBias: boolean, hasInitialState: boolean, mask: tf.Tensor2D | null): (...inputs: tf.Tensor[]) => tf.Tensor3D {
  const { kind, steps, batch, units } = shape;
  const gateWidth = (kind === 'lstm' ? 4 : 3) * units;
  const attrs = {
    recurrentActivation: shape.gate,
    returnSequences: shape.returnSequences,
    returnCarry: kind === 'lstm' && shape.returnState,
    initialStateGrad: hasInitialState,
  };
  const withMask = (inputs: tf.NamedTensorMap): tf.NamedTensorMap => (mask ? { ...inputs, mask } : inputs);

  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, -1) as tf.Tensor[];
    const [xs, kernel, recurrentKernel] = inputs as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const bias = hasBias ? (inputs[3] as tf.Tensor1D) : undefined;
    const states = inputs.slice(hasBias ? 4 : 3);
    const xw = tf.fused.matMul({ a: xs, b: kernel, bias }).reshape([steps, batch, gateWidth]);
    const initial = hasInitialState ? states : (kind === 'lstm' ? [0, 1] : [0]).map(() => tf.zeros([batch, units]));

    // Backward runs after the layer call's tidy: it may use only dOut and the saved tensors.
    const gradients = (
      savedXs: tf.Tensor,
      savedKernel: tf.Tensor,
      dz: tf.Tensor,
      dBias: tf.Tensor,
      stateGrads: tf.Tensor[],
      recurrentGrad: tf.Tensor,
    ): tf.Tensor[] =>
      tf.tidy(() => {
        const dz2 = dz.reshape([steps * batch, gateWidth]) as tf.Tensor2D;
        const grads = [
          tf.matMul(dz2, savedKernel as tf.Tensor2D, false, true),
          tf.matMul(savedXs as tf.Tensor2D, dz2, true, false),
          recurrentGrad.clone(),
        ];
        if (hasBias) grads.push(dBias.clone());
        if (hasInitialState) grads.push(...stateGrads.map((g) => g.clone()));
        return grads;
      });

    if (kind === 'lstm') {
      const [out, hs, cs, gates, tanhC] = tf.engine().runKernel(
        LSTM_SEQUENCE,
        withMask({ xw, recurrentKernel, h0: initial[0], c0: initial[1] }),
        attrs,
      ) as tf.Tensor[];
      save([xs, kernel, recurrentKernel, hs, cs, gates, tanhC, ...(mask ? [mask] : [])]);
      return {
        value: out as tf.Tensor3D,
        gradFunc: (dOut: tf.Tensor3D, saved: tf.Tensor[]) => {
          const [sx, sk, sr, shs, scs, sg, stc, sm] = saved;
          const [dz, dh0, dc0, dBias, dRecurrent] = tf.engine().runKernel(
            LSTM_SEQUENCE_GRAD,
            { dOut, recurrentKernel: sr, hs: shs, cs: scs, gates: sg, tanhC: stc, ...(sm ? { mask: sm } : {}) },
            attrs,
          ) as tf.Tensor[];
          const grads = gradients(sx, sk, dz, dBias, [dh0, dc0], dRecurrent);
          tf.dispose([dz, dh0, dc0, dBias, dRecurrent]);
          return grads;
        },
      };
    }

    const [out, hs, gates, rh] = tf.engine().runKernel(GRU_SEQUENCE, withMask({ xw, recurrentKernel, h0: initial[0] }), attrs) as tf.Tensor[];
    save([xs, kernel, recurrentKernel, hs, gates, rh, ...(mask ? [mask] : [])]);
    return {
      value: out as tf.Tensor3D,
      gradFunc: (dOut: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [sx, sk, sr, shs, sg, srh, sm] = saved;
        const [dz, dh0, dBias, dRecurrent] = tf.engine().runKernel(
          GRU_SEQUENCE_GRAD,
          { dOut, recurrentKernel: sr, hs: shs, gates: sg, rh: srh, ...(sm ? { mask: sm } : {}) },
          attrs,
        ) as tf.Tensor[];
        const grads = gradients(sx, sk, dz, dBias, [dh0], dRecurrent);
        tf.dispose([dz, dh0, dBias, dRecurrent]);
        return grads;
      },
    };
  });
}

/** The fused forward of a layer call (inside the caller's tidy); the same outputs as tfjs-layers' RNN.call. */
function fusedCall(layer: RnnLayer, kind: Kind, gate: GateActivation, inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
  const cell = cellOf(layer);
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const x = list[0];
  if (x.rank !== 3) throw new Error(`${layer.name}: input must be [batch, time, features] (got [${x.shape}])`);
  const initialState = asTensorList(kwargs?.['initialState']) ?? (list.length > 1 ? list.slice(1) : undefined);
  const numStates = kind === 'lstm' ? 2 : 1;
  if (initialState && initialState.length !== numStates) {
    throw new Error(`${layer.name} has ${numStates} state(s) but was passed ${initialState.length} initial state(s)`);
  }
  const [batch, steps, features] = x.shape;
  if (steps < 1) throw new Error(`${layer.name}: the input has no timesteps`);
  const units = cell.units;
  const shape: SequenceShape = {
    kind,
    steps,
    batch,
    features,
    units,
    gate,
    returnSequences: layer.returnSequences,
    returnState: layer.returnState,
  };

  let timeMajor = tf.transpose(x, [1, 0, 2]);
  if (layer.goBackwards) timeMajor = tf.reverse(timeMajor, 0);
  const xs = timeMajor.reshape([steps * batch, features]);
  const mask = timeMajorMask(kwargs?.['mask'], batch, steps, layer.goBackwards);
  const bias = cell.useBias && cell.bias ? [cell.bias.read()] : [];
  const op = sequenceOp(shape, bias.length > 0, initialState !== undefined, mask);
  const out = op(xs, cell.kernel.read(), cell.recurrentKernel.read(), ...bias, ...(initialState ?? []));

  const rows = out.shape[0];
  const row = (i: number): tf.Tensor2D => (rows === 1 ? out : tf.slice(out, [i, 0, 0], [1, batch, units])).reshape([batch, units]) as tf.Tensor2D;
  let output: tf.Tensor;
  let lastH: tf.Tensor2D;
  if (layer.returnSequences) {
    const sequence = rows === steps ? out : tf.slice(out, [0, 0, 0], [steps, batch, units]);
    output = tf.transpose(sequence, [1, 0, 2]);
    lastH = layer.returnState ? row(steps - 1) : (output as tf.Tensor2D);
  } else {
    lastH = row(0);
    output = lastH;
  }
  if (!layer.returnState) return output;
  return kind === 'lstm' ? [output, lastH, row(rows - 1)] : [output, lastH];
}

/**
 * A fused call through the layer's {@link CallMemo}: tfjs-layers' graph executor calls a layer
 * once per output it needs, so a layer with returnState (2-3 outputs, the seq2seq encoder) would
 * otherwise run its whole forward 2-3 times per step and keep only the first results. The key
 * holds everything the call reads: inputs, kwarg mask / initial state, weights, training flag,
 * backend (the memo adds the gradient tape).
 */
export function memoisedCall(
  layer: tf.layers.Layer,
  memo: CallMemo,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: { [key: string]: unknown } | undefined,
  compute: () => tf.Tensor | tf.Tensor[],
): tf.Tensor | tf.Tensor[] {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const cell = (layer as unknown as { cell: { kernel: LayerVariable; recurrentKernel: LayerVariable; bias: LayerVariable | null } }).cell;
  const tensors = [...list, ...kwargTensors(kwargs), cell.kernel.read(), cell.recurrentKernel.read(), cell.bias?.read()];
  return memo.run(tensors, [kwargs?.['training'], list.length, tf.getBackend()], compute);
}

/**
 * tf.layers.lstm with the same weights (kernel [in, 4u], recurrent kernel [u, 4u], bias [4u],
 * gates i, f, c, o), initialisers (incl. unitForgetBias), config and outputs, but whose call
 * runs the whole sequence in a few kernels (backend/wasm-kernels/recurrent-sequence.ts) and has a
 * whole-sequence gradient: ~10 kernel calls per layer call instead of ~140 per timestep.
 *
 * Supports returnSequences, returnState, goBackwards, initial states (kwarg or extra inputs),
 * masks (a masked step carries the state, as tfjs-layers does) and Bidirectional. Falls back to
 * tfjs-layers' own loop (same math) for stateful layers, cell dropout, activations other than
 * tanh with hardSigmoid/sigmoid gates, and backends without the kernels (tensorflow, webgl).
 * Also hands each apply its own kwargs copy (see StateInitLSTM in models/recurrent-layers.ts).
 */
export class FusedLSTM extends LstmBase {
  static className = 'TfleetFusedLSTM';

  override apply(inputs: Parameters<Lstm['apply']>[0], kwargs?: ApplyKwargs): ReturnType<Lstm['apply']> {
    return super.apply(inputs, kwargs === undefined ? kwargs : { ...kwargs });
  }

  /** See {@link memoisedCall}: the executor calls a layer with returnState once per output. */
  private readonly memo = new CallMemo();

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const gate = fusedGate(this, cellOf(this));
    if (!gate) return super.call(inputs, kwargs);
    return memoisedCall(this, this.memo, inputs, kwargs, () => tf.tidy(() => fusedCall(this, 'lstm', gate, inputs, kwargs)));
  }
}

/** tf.layers.gru (reset gate before the matmul, gates z, r, h) with a fused call; see {@link FusedLSTM}. */
export class FusedGRU extends GruBase {
  static className = 'TfleetFusedGRU';

  override apply(inputs: Parameters<Gru['apply']>[0], kwargs?: ApplyKwargs): ReturnType<Gru['apply']> {
    return super.apply(inputs, kwargs === undefined ? kwargs : { ...kwargs });
  }

  /** See {@link memoisedCall}: the executor calls a layer with returnState once per output. */
  private readonly memo = new CallMemo();

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const gate = fusedGate(this, cellOf(this));
    if (!gate) return super.call(inputs, kwargs);
    return memoisedCall(this, this.memo, inputs, kwargs, () => tf.tidy(() => fusedCall(this, 'gru', gate, inputs, kwargs)));
  }
}

tf.serialization.registerClass(FusedLSTM);
tf.serialization.registerClass(FusedGRU);
