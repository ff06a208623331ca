import * as tf from '@tensorflow/tfjs';
import { ERF_GRAD_KERNEL, TANH_GRAD_KERNEL } from '../wasm-kernels/activations';

/*
 * Same math as tfjs-core's Tanh and Erf gradients: mul(sub(1, square(y)), dy) (three kernels)
 * and mul(dy, mul(exp(neg(square(x))), 2/sqrt(pi))) (five kernels, four activation-sized
 * temporaries). Where the active backend has the fused kernel (wasm with the project's kernels)
 * one pass computes it; elsewhere the stock formula.
 */
/** True when the active backend has `kernelName` and both tensors are float32 (what the fused kernels take). */
export function fused(kernelName: string, dy: tf.Tensor, other: tf.Tensor): boolean {
  return dy.dtype === 'float32' && other.dtype === 'float32' && tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

export const tanhGradConfig: tf.GradConfig = {
  kernelName: 'Tanh',
  outputsToSave: [true],
  gradFunc: (dy, saved) => {
    const [y] = saved;
    const grad = dy as tf.Tensor;
    return {
      x: () => {
        if (fused(TANH_GRAD_KERNEL, grad, y)) return tf.engine().runKernel(TANH_GRAD_KERNEL, { dy: grad, y }) as tf.Tensor;
        return tf.mul(tf.sub(tf.scalar(1), tf.square(y)), grad);
      },
    };
  },
};

export const erfGradConfig: tf.GradConfig = {
  kernelName: 'Erf',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    const grad = dy as tf.Tensor;
    return {
      x: () => {
        if (fused(ERF_GRAD_KERNEL, grad, x)) return tf.engine().runKernel(ERF_GRAD_KERNEL, { dy: grad, x }) as tf.Tensor;
        return tf.mul(grad, tf.mul(tf.exp(tf.neg(tf.square(x))), 2 / Math.sqrt(Math.PI)));
      },
    };
  },
};
