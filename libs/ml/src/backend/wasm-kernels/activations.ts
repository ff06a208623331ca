import * as tf from '@tensorflow/tfjs';
import { actKernels, type ActKernelExports } from './act-simd';
import { runStock } from './stock-kernels';
import { asWasmBackend, heapOffset, KernelArgs } from './wasm-internals';

/*
 * tfjs-backend-wasm 4.22 runs Tanh, Exp and Erf through its generic C++ unary loop, which calls
 * libm per element: about 75 ns per element for Tanh (8 ms for a [64,13,128] tensor where the
 * XNNPACK Sigmoid takes 0.34 ms). These run the project's SIMD versions (act-simd/) on float32
 * tensors and call through to the stock kernel for other dtypes. Sigmoid is XNNPACK's already
 * and stays stock.
 */

/** Kernel names of the fused gradients (the project's own; tfjs has none). */
export const TANH_GRAD_KERNEL = 'TfleetTanhGrad';
export const ERF_GRAD_KERNEL = 'TfleetErfGrad';

type UnaryExport = 'exp' | 'tanh' | 'erf';
type GradExport = 'tanh_grad' | 'erf_grad';

function unaryConfig(kernelName: string, fn: UnaryExport): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype !== 'float32') return runStock(kernelName, args);
    const backend = asWasmBackend(args.backend);
    const out = backend.makeOutput(x.shape, 'float32');
    const count = tf.util.sizeFromShape(x.shape);
    if (count > 0) actKernels(backend)[fn](heapOffset(backend, x), heapOffset(backend, out), count);
    return out;
  };
  return { kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc };
}

/** A gradient kernel with inputs dy and `saved` (the op's output y for Tanh, its input x for Erf). */
function gradConfig(kernelName: string, saved: 'x' | 'y', fn: GradExport): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const backend = asWasmBackend(args.backend);
    const inputs = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const dy = inputs.dy;
    const other = inputs[saved];
    if (!dy || !other) throw new Error(`${kernelName} needs inputs dy and ${saved}`);
    if (dy.dtype !== 'float32' || other.dtype !== 'float32') throw new Error(`${kernelName} needs float32 dy and ${saved} (got ${dy.dtype}, ${other.dtype})`);
    if (dy.shape.length !== other.shape.length || dy.shape.some((d, i) => d !== other.shape[i])) {
      throw new Error(`${kernelName}: dy [${dy.shape}] and ${saved} [${other.shape}] differ in shape`);
    }
    const out = backend.makeOutput(other.shape, 'float32');
    const count = tf.util.sizeFromShape(other.shape);
    const kernels: ActKernelExports = actKernels(backend);
    if (count > 0) kernels[fn](heapOffset(backend, dy), heapOffset(backend, other), heapOffset(backend, out), count);
    return out;
  };
  return { kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc };
}

export const tanhKernel = unaryConfig('Tanh', 'tanh');
export const expKernel = unaryConfig('Exp', 'exp');
export const erfKernel = unaryConfig('Erf', 'erf');
export const tanhGradKernel = gradConfig(TANH_GRAD_KERNEL, 'y', 'tanh_grad');
export const erfGradKernel = gradConfig(ERF_GRAD_KERNEL, 'x', 'erf_grad');
