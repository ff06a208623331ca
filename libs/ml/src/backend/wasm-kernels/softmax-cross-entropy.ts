import * as tf from '@tensorflow/tfjs';
import { simdKernels } from './simd';
import { asWasmBackend, heapOffset, KernelArgs, sizeOf } from './wasm-internals';

/**
 * Sparse softmax cross-entropy as two wasm kernels (simd softmax_xent / xent_grad), used by
 * training/sparse-cross-entropy.ts. The composite form (logSoftmax, oneHot, multiply, sum and
 * their gradients) makes about ten passes over the logits with a scalar exp; for a language
 * model with a 5,000-word vocabulary that is a [2048, 5000] tensor per step, ~540 ms of a ~1 s
 * step. These read the logits twice forward (the second pass cache-hot) and once backward,
 * with a SIMD exp.
 *
 * TfleetSoftmaxXent: inputs logits [rows, cols] float32, labels [rows] int32 in [0, cols) (else
 * an error). Outputs loss
 * [rows], e [rows, cols] (exp(logits - row max)) and inv [rows] (1 / row sum of e).
 * TfleetSoftmaxXentGrad: inputs e, inv, labels, dy [rows]. Output d loss / d logits times dy.
 */
export const SOFTMAX_XENT = 'TfleetSoftmaxXent';
export const SOFTMAX_XENT_GRAD = 'TfleetSoftmaxXentGrad';

function rowsAndCols(x: tf.TensorInfo, kernel: string): { rows: number; cols: number } {
  if (x.shape.length !== 2 || x.dtype !== 'float32') throw new Error(`${kernel}: needs float32 [rows, cols] (got ${x.dtype} [${x.shape}])`);
  return { rows: x.shape[0], cols: x.shape[1] };
}

function expectPerRow(t: tf.TensorInfo, dtype: tf.DataType, rows: number, what: string, kernel: string): void {
  if (t.dtype !== dtype || sizeOf(t.shape) !== rows) {
    throw new Error(`${kernel}: ${what} must be ${dtype} with one per row (got ${t.dtype} [${t.shape}] for ${rows} rows)`);
  }
}

/** A label outside [0, cols) would silently get loss 0 and no gradient: an error instead. */
function expectClassIds(labels: Int32Array, cols: number): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label < 0 || label >= cols) throw new Error(`${SOFTMAX_XENT}: label ${label} of row ${i} is outside [0, ${cols})`);
  }
}

function softmaxXent(args: KernelArgs): tf.TensorInfo[] {
  const backend = asWasmBackend(args.backend);
  const { logits, labels } = args.inputs as { logits: tf.TensorInfo; labels: tf.TensorInfo };
  const { rows, cols } = rowsAndCols(logits, SOFTMAX_XENT);
  expectPerRow(labels, 'int32', rows, 'labels', SOFTMAX_XENT);
  expectClassIds(backend.typedArrayFromHeap(labels) as Int32Array, cols);
  const loss = backend.makeOutput([rows], 'float32');
  const e = backend.makeOutput([rows, cols], 'float32');
  const inv = backend.makeOutput([rows], 'float32');
  if (rows > 0 && cols > 0) {
    simdKernels(backend).exports.softmax_xent(heapOffset(backend, logits), heapOffset(backend, labels), rows, cols, heapOffset(backend, loss), heapOffset(backend, e), heapOffset(backend, inv));
  }
  return [loss, e, inv];
}

function softmaxXentGrad(args: KernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { e, inv, labels, dy } = args.inputs as Record<'e' | 'inv' | 'labels' | 'dy', tf.TensorInfo>;
  const { rows, cols } = rowsAndCols(e, SOFTMAX_XENT_GRAD);
  expectPerRow(inv, 'float32', rows, 'inv', SOFTMAX_XENT_GRAD);
  expectPerRow(labels, 'int32', rows, 'labels', SOFTMAX_XENT_GRAD);
  expectPerRow(dy, 'float32', rows, 'dy', SOFTMAX_XENT_GRAD);
  const out = backend.makeOutput([rows, cols], 'float32');
  if (rows > 0 && cols > 0) {
    simdKernels(backend).exports.xent_grad(heapOffset(backend, e), heapOffset(backend, inv), heapOffset(backend, labels), heapOffset(backend, dy), rows, cols, heapOffset(backend, out));
  }
  return out;
}

export const softmaxXentKernel: tf.KernelConfig = { kernelName: SOFTMAX_XENT, backendName: 'wasm', kernelFunc: softmaxXent as unknown as tf.KernelFunc };
export const softmaxXentGradKernel: tf.KernelConfig = {
  kernelName: SOFTMAX_XENT_GRAD,
  backendName: 'wasm',
  kernelFunc: softmaxXentGrad as unknown as tf.KernelFunc,
};
