import * as tf from '@tensorflow/tfjs';
import { cnnKernels } from './cnn-simd';
import { asWasmBackend, heapOffset, KernelArgs } from './wasm-internals';

/** Kernel name of the fused ReLU gradient (the project's own; tfjs has none). */
export const RELU_GRAD_KERNEL = 'TfleetReluGrad';

/*
 * tfjs' ReLU gradient is mul(dy, cast(step(x), 'float32')): three kernels and two temporaries
 * the size of the activation (1.9 ms for the first cnn-mnist conv's [64,26,26,16] on wasm,
 * where the same-dtype Cast is a copy). This kernel computes the same values in one SIMD pass.
 * The gradient (../gradients/relu-grad.ts) runs it only for float32 on the wasm backend.
 */
function reluGrad(args: KernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { dy, x } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  if (dy.dtype !== 'float32' || x.dtype !== 'float32') throw new Error(`${RELU_GRAD_KERNEL} needs float32 dy and x (got ${dy.dtype}, ${x.dtype})`);
  if (dy.shape.length !== x.shape.length || dy.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`${RELU_GRAD_KERNEL}: dy [${dy.shape}] and x [${x.shape}] differ in shape`);
  }
  const out = backend.makeOutput(x.shape, 'float32');
  cnnKernels(backend).relu_grad(heapOffset(backend, dy), heapOffset(backend, x), heapOffset(backend, out), tf.util.sizeFromShape(x.shape));
  return out;
}

export const reluGradKernel: tf.KernelConfig = { kernelName: RELU_GRAD_KERNEL, backendName: 'wasm', kernelFunc: reluGrad as tf.KernelFunc };
