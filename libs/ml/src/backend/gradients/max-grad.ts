import * as tf from '@tensorflow/tfjs';

/*
 * tfjs-core 4.22's Max and Min gradients are mul(dy, cast(equal(x, y), dtype)) with y and dy
 * reshaped to keep the reduced axes, so the Equal broadcasts. tfjs-backend-wasm's comparison
 * kernels take a per-element generic path when they broadcast: 63 ms for the [64, 23, 64]
 * input of the zoo's 1-D CNN global max pool (cnn/adding), 44% of its training step, where a
 * broadcasting Sub takes 0.07 ms. For float32 the mask is computed instead as
 * 1 - step(y - x) (Max; step(x - y) for Min): y - x is 0 exactly where x equals the maximum and
 * positive elsewhere, so the mask is the same 0/1 tensor, from kernels that broadcast fast.
 * (Only a NaN input differs: its gradient is NaN rather than 0.) Other dtypes keep the stock
 * formula.
 */
function extremumGrad(kind: 'Max' | 'Min'): tf.GradConfig {
  return {
    kernelName: kind,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, yReduced] = saved;
      // Max names its axes reductionIndices, Min names them axis (tfjs-core 4.22).
      const named = attrs as { reductionIndices?: number | number[]; axis?: number | number[] };
      const reduced = kind === 'Max' ? named.reductionIndices : named.axis;
      if (reduced === undefined) throw new Error(`${kind} gradient: the kernel's reduction axes are missing from its attributes`);
      const axes = tf.util.parseAxisParam(reduced, x.shape);
      const keptShape = tf.backend_util.expandShapeToKeepDim((dy as tf.Tensor).shape, axes);
      return {
        x: () => {
          const grad = (dy as tf.Tensor).rank < x.rank ? tf.reshape(dy as tf.Tensor, keptShape) : (dy as tf.Tensor);
          const y = yReduced.rank < x.rank ? tf.reshape(yReduced, keptShape) : yReduced;
          if (x.dtype !== 'float32' || grad.dtype !== 'float32') return tf.mul(grad, tf.cast(tf.equal(x, y), grad.dtype));
          const gap = kind === 'Max' ? tf.sub(y, x) : tf.sub(x, y);
          return tf.mul(grad, tf.sub(1, tf.step(gap)));
        },
      };
    },
  };
}

export const maxGradConfig = extremumGrad('Max');
export const minGradConfig = extremumGrad('Min');
