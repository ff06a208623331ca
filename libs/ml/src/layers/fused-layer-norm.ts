import * as tf from '@tensorflow/tfjs';
import { LAYER_NORM, LAYER_NORM_GRAD } from '../backend/wasm-kernels/layer-norm';

type LayerNormArgs = NonNullable<Parameters<typeof tf.layers.layerNormalization>[0]>;
type LayerNorm = ReturnType<typeof tf.layers.layerNormalization>;
type Kwargs = Parameters<LayerNorm['call']>[1];
type LayerVariable = tf.layers.Layer['weights'][number];
/** What `registerClass` needs of a constructor besides `new`. */
type FromConfig = Pick<typeof tf.layers.Layer, 'fromConfig'>;

// tfjs-layers exports a factory, not the class; subclassing needs the constructor.
const LayerNormBase = tf.layers.layerNormalization({}).constructor as (new (args?: LayerNormArgs) => LayerNorm) & FromConfig;

/** The fields of tfjs-layers' LayerNormalization the fused path reads (private in its typings, set in 4.22). */
interface LayerNormFields {
  axis: number | number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: LayerVariable | null;
  beta: LayerVariable | null;
}

function layerNormOp(epsilon: number): (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, gamma, beta] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [y, mean, rstd] = tf.engine().runKernel(LAYER_NORM, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
    save([x, gamma, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sgamma, smean, srstd] = saved;
        return tf.engine().runKernel(LAYER_NORM_GRAD, { dy: dy as tf.Tensor, x: sx, gamma: sgamma, mean: smean, rstd: srstd }) as tf.Tensor[];
      },
    };
  }) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
}

/**
 * tf.layers.layerNormalization with the same weights (gamma, beta), initialisers, config and
 * math, whose call on the last axis runs as one kernel forward and one backward
 * (backend/wasm-kernels/layer-norm.ts) where the backend has them (wasm). tfjs-layers' own
 * call tiles the moments and parameters to the input's full shape and needs ~50 kernels per
 * layer and step; other axes, center/scale off, and other backends use it unchanged.
 */
export class FusedLayerNormalization extends LayerNormBase {
  static className = 'TfleetFusedLayerNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const fields = this as unknown as LayerNormFields;
    const axes = typeof fields.axis === 'number' ? [fields.axis] : fields.axis;
    const lastAxis = axes.length === 1 && (axes[0] === x.rank - 1 || axes[0] === -1);
    const backend = tf.getBackend();
    const fused =
      lastAxis &&
      fields.center &&
      fields.scale &&
      fields.gamma !== null &&
      fields.beta !== null &&
      x.dtype === 'float32' &&
      (!Array.isArray(inputs) || inputs.length === 1) &&
      backend !== undefined &&
      tf.getKernel(LAYER_NORM, backend) !== undefined;
    if (!fused || !fields.gamma || !fields.beta) return super.call(inputs, kwargs);
    const gamma = fields.gamma.read();
    const beta = fields.beta.read();
    return layerNormOp(fields.epsilon)(x, gamma, beta);
  }
}

tf.serialization.registerClass(FusedLayerNormalization);
