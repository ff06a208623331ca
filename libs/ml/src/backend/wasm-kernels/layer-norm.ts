import * as tf from '@tensorflow/tfjs';
import { simdKernels } from './simd';
import { asWasmBackend, heapOffset, KernelArgs, sizeOf } from './wasm-internals';

/**
 * Layer normalisation over the last axis as two wasm kernels (simd layer_norm / layer_norm_grad),
 * used by the FusedLayerNormalization layer. tfjs-layers' LayerNormalization computes moments,
 * tiles mean, variance, gamma and beta to the input's full shape and runs FusedBatchNorm; its
 * gradient is ~40 broadcasting kernels over full-size tensors per layer.
 *
 * TfleetLayerNorm: inputs x [..., C], gamma [C], beta [C]; attr epsilon. Outputs y (x's shape),
 * mean and rstd ([rows] each, rstd = 1 / sqrt(var + epsilon)).
 * TfleetLayerNormGrad: inputs dy, x, gamma, mean, rstd. Outputs dx, dgamma, dbeta.
 */
export const LAYER_NORM = 'TfleetLayerNorm';
export const LAYER_NORM_GRAD = 'TfleetLayerNormGrad';

function rowsAndCols(x: tf.TensorInfo, gamma: tf.TensorInfo): { rows: number; cols: number } {
  const cols = x.shape[x.shape.length - 1];
  if (x.shape.length === 0 || sizeOf(gamma.shape) !== cols) {
    throw new Error(`${LAYER_NORM}: gamma [${gamma.shape}] must have the size of x's last axis (x [${x.shape}])`);
  }
  for (const t of [x, gamma]) if (t.dtype !== 'float32') throw new Error(`${LAYER_NORM}: float32 inputs only (got ${t.dtype})`);
  return { rows: sizeOf(x.shape) / cols, cols };
}

function layerNorm(args: KernelArgs): tf.TensorInfo[] {
  const backend = asWasmBackend(args.backend);
  const { x, gamma, beta } = args.inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const epsilon = Number(args.attrs?.['epsilon']);
  const { rows, cols } = rowsAndCols(x, gamma);
  const y = backend.makeOutput(x.shape, 'float32');
  const mean = backend.makeOutput([rows], 'float32');
  const rstd = backend.makeOutput([rows], 'float32');
  if (rows > 0 && cols > 0) {
    const k = simdKernels(backend).exports;
    k.layer_norm(heapOffset(backend, x), rows, cols, heapOffset(backend, gamma), heapOffset(backend, beta), epsilon, heapOffset(backend, y), heapOffset(backend, mean), heapOffset(backend, rstd));
  }
  return [y, mean, rstd];
}

function layerNormGrad(args: KernelArgs): tf.TensorInfo[] {
  const backend = asWasmBackend(args.backend);
  const { dy, x, gamma, mean, rstd } = args.inputs as Record<'dy' | 'x' | 'gamma' | 'mean' | 'rstd', tf.TensorInfo>;
  const { rows, cols } = rowsAndCols(x, gamma);
  const dx = backend.makeOutput(x.shape, 'float32');
  const dgamma = backend.makeOutput(gamma.shape, 'float32');
  const dbeta = backend.makeOutput(gamma.shape, 'float32');
  if (cols > 0) {
    const k = simdKernels(backend).exports;
    k.layer_norm_grad(
      heapOffset(backend, dy),
      heapOffset(backend, x),
      rows,
      cols,
      heapOffset(backend, gamma),
      heapOffset(backend, mean),
      heapOffset(backend, rstd),
      heapOffset(backend, dx),
      heapOffset(backend, dgamma),
      heapOffset(backend, dbeta),
    );
  }
  return [dx, dgamma, dbeta];
}

export const layerNormKernel: tf.KernelConfig = { kernelName: LAYER_NORM, backendName: 'wasm', kernelFunc: layerNorm as unknown as tf.KernelFunc };
export const layerNormGradKernel: tf.KernelConfig = { kernelName: LAYER_NORM_GRAD, backendName: 'wasm', kernelFunc: layerNormGrad as unknown as tf.KernelFunc };
