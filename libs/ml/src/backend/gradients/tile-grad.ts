import * as tf from '@tensorflow/tfjs';
import { erfGradConfig, tanhGradConfig } from './activation-grads';
import { maxGradConfig, minGradConfig } from './max-grad';
import { reluGradConfig } from './relu-grad';

/*
 * tfjs-core 4.22 computes the gradient of Tile with one slice and one add per repetition. The
 * stock LayerNormalization tiles its mean, variance, gamma and beta to the input shape, so a
 * [32, 64, 128] layer norm costs 4 x 2,048 slice+add pairs per backward pass: 20 s of a 31 s
 * transformer step on wasm. The same sum is one reshape and one reduction: view dy
 * [r0*x0, r1*x1, ...] as [r0, x0, r1, x1, ...] and sum over the repetition axes.
 */
const tileGradConfig: tf.GradConfig = {
  kernelName: 'Tile',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const reps = (attrs as { reps: number[] }).reps;
    const grad = dy as tf.Tensor;
    return {
      x: () => {
        const interleaved: number[] = [];
        const repAxes: number[] = [];
        x.shape.forEach((size, axis) => {
          if (reps[axis] !== 1) repAxes.push(interleaved.length);
          if (reps[axis] !== 1) interleaved.push(reps[axis]);
          interleaved.push(size);
        });
        if (repAxes.length === 0) return grad.clone();
        return tf.sum(tf.reshape(grad, interleaved), repAxes).reshape(x.shape);
      },
    };
  },
};

let registered = false;

/** Replaces the Tile, Relu, Max, Min, Tanh and Erf gradients (same math, all backends). Idempotent, per thread. */
export function registerFastGradients(): void {
  if (registered) return;
  tf.registerGradient(tileGradConfig);
  tf.registerGradient(reluGradConfig);
  tf.registerGradient(maxGradConfig);
  tf.registerGradient(minGradConfig);
  tf.registerGradient(tanhGradConfig);
  tf.registerGradient(erfGradConfig);
  registered = true;
}
