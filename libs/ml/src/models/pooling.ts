import * as tf from '@tensorflow/tfjs';

type Shape = Array<number | null>;

/**
 * Mean over time of [B, T, D] that skips padding: inputs `[x, mask]` with mask [B, T] (1 for a
 * real token, 0 for padding) give sum(x * mask) / max(sum(mask), 1); a single input `x` gives
 * the plain mean. A pooled sequence classifier must not average its padding into the result.
 */
export class MaskedMeanPooling extends tf.layers.Layer {
  static className = 'TfleetMaskedMeanPooling';

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const x = Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : (inputShape as Shape);
    if (x.length !== 3) throw new Error(`MaskedMeanPooling input must be [batch, time, features] (got [${x.join(', ')}])`);
    return [x[0], x[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const x = list[0];
      if (list.length === 1) return x.mean(1);
      const mask = list[1].toFloat().expandDims(2); // [B, T, 1]
      const total = x.mul(mask).sum(1);
      const count = mask.sum(1).maximum(1);
      return total.div(count);
    });
  }
}
tf.serialization.registerClass(MaskedMeanPooling);

/**
 * Passes its input through as a new tensor (sharing the data). Needed because tfjs 4.22's
 * graph executor counts a layer that takes the same tensor twice (self-attention's
 * [x, x, x, mask]) as one recipient but decrements twice, so in inference mode it disposes that
 * tensor while another layer (the residual add) still needs it. Feeding attention a distinct
 * key/value tensor keeps the count right.
 */
export class Identity extends tf.layers.Layer {
  static className = 'TfleetIdentity';

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return (Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : (inputShape as Shape)).slice();
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.clone(Array.isArray(inputs) ? inputs[0] : inputs);
  }
}
tf.serialization.registerClass(Identity);
