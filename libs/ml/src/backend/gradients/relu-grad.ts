import * as tf from '@tensorflow/tfjs';
import { RELU_GRAD_KERNEL } from '../wasm-kernels/relu-grad';
import { fused } from './activation-grads';

/*
 * Same math as tfjs-core's Relu gradient, mul(dy, cast(step(x), 'float32')), which costs three
 * kernels and two activation-sized temporaries. Where the active backend has the fused kernel
 * (wasm with the project's kernels) it runs that instead; elsewhere the stock formula.
 */
export const reluGradConfig: tf.GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    const grad = dy as tf.Tensor;
    return {
      x: () => {
        if (fused(RELU_GRAD_KERNEL, grad, x)) return tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: grad, x }) as tf.Tensor;
        return tf.mul(grad, tf.cast(tf.step(x), 'float32'));
      },
    };
  },
};
