import * as tf from '@tensorflow/tfjs';
import { runStock } from './stock-kernels';
import { KernelArgs } from './wasm-internals';

interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

/*
 * The stock wasm Identity copies its input into a new heap buffer. tfjs kernels never write
 * into their inputs, so the output can share the input's memory the way the cpu backend's
 * Identity does: one more reference on the data id (the wasm backend counts references and
 * frees the buffer when the last tensor using it is disposed). The transformer step called
 * Identity 215 times (gradients of adds and clones), copying ~50 MB.
 */
function identity(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const backend = args.backend as unknown as Partial<RefCountingBackend>;
  if (x.dtype === 'string' || typeof backend.incRef !== 'function') return runStock('Identity', args);
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/*
 * A Cast to the dtype the tensor already has is an Identity too; the stock wasm Cast copies.
 * tfjs' Identity gradient is cast(dy, 'float32'): a full copy of every residual gradient.
 */
function cast(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (args.attrs?.['dtype'] !== x.dtype) return runStock('Cast', args);
  return identity({ ...args, inputs: { x } });
}

export const identityKernel: tf.KernelConfig = { kernelName: 'Identity', backendName: 'wasm', kernelFunc: identity as tf.KernelFunc };
export const castKernel: tf.KernelConfig = { kernelName: 'Cast', backendName: 'wasm', kernelFunc: cast as tf.KernelFunc };
