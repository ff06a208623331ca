import * as tf from '@tensorflow/tfjs';
import { SIMPLE_RNN_SEQUENCE, SIMPLE_RNN_SEQUENCE_GRAD, type SimpleRnnActivation } from '../backend/wasm-kernels/simple-rnn-sequence';
import { CallMemo } from './call-memo';
import { asTensorList, memoisedCall, timeMajorMask } from './fused-recurrent';

type SimpleRnnArgs = Parameters<typeof tf.layers.simpleRNN>[0];
type SimpleRnn = ReturnType<typeof tf.layers.simpleRNN>;
type Kwargs = Parameters<SimpleRnn['call']>[1];
type ApplyKwargs = Parameters<tf.layers.Layer['apply']>[1];
type FromConfig = Pick<typeof tf.layers.Layer, 'fromConfig'>;
type LayerVariable = tf.layers.Layer['weights'][number];

// tfjs-layers exports factories, not the classes; subclassing needs the constructor.
const SimpleRnnBase = tf.layers.simpleRNN({ units: 1 }).constructor as (new (args: SimpleRnnArgs) => SimpleRnn) & FromConfig;

/** The parts of tfjs-layers' SimpleRNNCell the fused path reads (public fields in 4.22). */
interface SimpleRnnCell {
  units: number;
  activation: { getClassName(): string };
  useBias: boolean;
  dropout: number;
  recurrentDropout: number;
  kernel: LayerVariable;
  recurrentKernel: LayerVariable;
  bias: LayerVariable | null;
}

interface SequenceShape {
  steps: number;
  batch: number;
  units: number;
  activation: SimpleRnnActivation;
  returnSequences: boolean;
}

function cellOf(layer: SimpleRnn): SimpleRnnCell {
  return layer.cell as unknown as SimpleRnnCell;
}

/**
 * The activation when this call can take the fused path, else null: stateful layers, dropout
 * inside the cell, activations other than tanh and relu, and backends without the kernels run
 * tfjs-layers' own per-timestep loop.
 */
function fusedActivation(layer: SimpleRnn, cell: SimpleRnnCell): SimpleRnnActivation | null {
  if (layer.stateful || cell.dropout > 0 || cell.recurrentDropout > 0) return null;
  const activation = cell.activation.getClassName();
  if (activation !== 'tanh' && activation !== 'relu') return null;
  const backend = tf.getBackend();
  return backend !== undefined && tf.getKernel(SIMPLE_RNN_SEQUENCE, backend) !== undefined ? activation : null;
}

/**
 * One SimpleRNN layer over a whole sequence with a custom gradient. Differentiable inputs: xs
 * ([T*B, features], time-major), kernel, recurrent kernel, bias (when used), the initial state
 * (when given). Forward: one matmul x·W (+b) for all timesteps, then the sequence kernel (per
 * timestep one h·U and the activation). Backward: the gradient kernel (per timestep the
 * activation's derivative and one dz·Uᵀ; dU and db inside it), then dW = Xᵀ·dZ and dX = dZ·Wᵀ,
 * one matmul each over all timesteps. Returns h_1..h_T (returnSequences) or h_T as [K, B, u].
 */
function sequenceOp(shape: SequenceShape, hasBias: boolean, hasInitialState: boolean, mask: tf.Tensor2D | null): (...inputs: tf.Tensor[]) => tf.Tensor3D {
  const { steps, batch, units } = shape;
  const attrs = { activation: shape.activation, returnSequences: shape.returnSequences, initialStateGrad: hasInitialState };
  const withMask = (inputs: tf.NamedTensorMap): tf.NamedTensorMap => (mask ? { ...inputs, mask } : inputs);

  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, -1) as tf.Tensor[];
    const [xs, kernel, recurrentKernel] = inputs as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const bias = hasBias ? (inputs[3] as tf.Tensor1D) : undefined;
    const h0 = hasInitialState ? inputs[hasBias ? 4 : 3] : tf.zeros([batch, units]);
    const xw = tf.fused.matMul({ a: xs, b: kernel, bias }).reshape([steps, batch, units]);
    const [out, hs] = tf.engine().runKernel(SIMPLE_RNN_SEQUENCE, withMask({ xw, recurrentKernel, h0 }), attrs) as tf.Tensor[];
    save([xs, kernel, recurrentKernel, hs, ...(mask ? [mask] : [])]);
    return {
      value: out as tf.Tensor3D,
      // Runs after the layer call's tidy: it may use only dOut and the saved tensors.
      gradFunc: (dOut: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [sx, sk, sr, shs, sm] = saved;
        const [dz, dh0, dBias, dRecurrent] = tf.engine().runKernel(
          SIMPLE_RNN_SEQUENCE_GRAD,
          { dOut, recurrentKernel: sr, hs: shs, ...(sm ? { mask: sm } : {}) },
          attrs,
        ) as tf.Tensor[];
        const grads = tf.tidy(() => {
          const dz2 = dz.reshape([steps * batch, units]) as tf.Tensor2D;
          const list = [tf.matMul(dz2, sk as tf.Tensor2D, false, true), tf.matMul(sx as tf.Tensor2D, dz2, true, false), dRecurrent.clone()];
          if (hasBias) list.push(dBias.clone());
          if (hasInitialState) list.push(dh0.clone());
          return list;
        });
        tf.dispose([dz, dh0, dBias, dRecurrent]);
        return grads;
      },
    };
  });
}

/** The fused forward of a layer call (inside the caller's tidy); the same outputs as tfjs-layers' RNN.call. */
function fusedCall(layer: SimpleRnn, activation: SimpleRnnActivation, inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
  const cell = cellOf(layer);
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const x = list[0];
  if (x.rank !== 3) throw new Error(`${layer.name}: input must be [batch, time, features] (got [${x.shape}])`);
  const initialState = asTensorList(kwargs?.['initialState']) ?? (list.length > 1 ? list.slice(1) : undefined);
  if (initialState && initialState.length !== 1) {
    throw new Error(`${layer.name} has 1 state but was passed ${initialState.length} initial state(s)`);
  }
  const [batch, steps, features] = x.shape;
  if (steps < 1) throw new Error(`${layer.name}: the input has no timesteps`);
  const units = cell.units;

  let timeMajor = tf.transpose(x, [1, 0, 2]);
  if (layer.goBackwards) timeMajor = tf.reverse(timeMajor, 0);
  const xs = timeMajor.reshape([steps * batch, features]);
  const mask = timeMajorMask(kwargs?.['mask'], batch, steps, layer.goBackwards);
  const bias = cell.useBias && cell.bias ? [cell.bias.read()] : [];
  const op = sequenceOp({ steps, batch, units, activation, returnSequences: layer.returnSequences }, bias.length > 0, initialState !== undefined, mask);
  const out = op(xs, cell.kernel.read(), cell.recurrentKernel.read(), ...bias, ...(initialState ?? []));

  let output: tf.Tensor;
  let lastH: tf.Tensor;
  if (layer.returnSequences) {
    output = tf.transpose(out, [1, 0, 2]);
    lastH = layer.returnState ? tf.slice(out, [steps - 1, 0, 0], [1, batch, units]).reshape([batch, units]) : output;
  } else {
    lastH = out.reshape([batch, units]);
    output = lastH;
  }
  return layer.returnState ? [output, lastH] : output;
}

/**
 * tf.layers.simpleRNN with the same weights (kernel [in, u], recurrent kernel [u, u], bias [u]),
 * initialisers, config and outputs, whose call runs the whole sequence in a few kernels
 * (backend/wasm-kernels/simple-rnn-sequence.ts) with a whole-sequence gradient, for tanh and
 * relu activations. Supports returnSequences, returnState, goBackwards, initial states (kwarg or
 * extra inputs), masks and Bidirectional; falls back to tfjs-layers' own loop (same math) for
 * stateful layers, cell dropout, other activations and backends without the kernels. Its config
 * is SimpleRNN's, so a topology renamed to `SimpleRNN` loads in stock tfjs. Hands each apply its
 * own kwargs copy (see StateInitLSTM in models/recurrent-layers.ts).
 */
export class FusedSimpleRNN extends SimpleRnnBase {
  static className = 'TfleetFusedSimpleRNN';

  override apply(inputs: Parameters<SimpleRnn['apply']>[0], kwargs?: ApplyKwargs): ReturnType<SimpleRnn['apply']> {
    return super.apply(inputs, kwargs === undefined ? kwargs : { ...kwargs });
  }

  /** See memoisedCall in fused-recurrent.ts: the executor calls a layer with returnState once per output. */
  private readonly memo = new CallMemo();

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const activation = fusedActivation(this, cellOf(this));
    if (!activation) return super.call(inputs, kwargs);
    return memoisedCall(this, this.memo, inputs, kwargs, () => tf.tidy(() => fusedCall(this, activation, inputs, kwargs)));
  }
}

tf.serialization.registerClass(FusedSimpleRNN);
