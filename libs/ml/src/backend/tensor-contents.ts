import * as tf from '@tensorflow/tfjs';
import { asWasmBackend } from './wasm-kernels/wasm-internals';

/**
 * A float32 tensor's values for reading right away: on wasm a view of the backend heap (no
 * copy, no allocation), elsewhere `dataSync()`. The view is valid only until the next tfjs
 * call (which may grow the heap and detach it), so callers copy out of it at once.
 */
export function float32Contents(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`float32Contents: expected a float32 tensor (got ${t.dtype})`);
  if (tf.getBackend() === 'wasm') {
    return asWasmBackend(tf.backend()).typedArrayFromHeap(t) as Float32Array;
  }
  return t.dataSync() as Float32Array;
}

/**
 * A view through which a float32 tensor's values can be overwritten in place, or null. Only on
 * wasm, and only when no other tensor shares the data (a reshape or clone of it would change
 * too); elsewhere `dataSync()` returns a copy, so writes would not reach the tensor. Valid until
 * the next tfjs call, like `float32Contents`.
 */
export function overwritableFloat32Contents(t: tf.Tensor): Float32Array | null {
  if (t.dtype !== 'float32' || t.isDisposed || tf.getBackend() !== 'wasm') return null;
  const backend = asWasmBackend(tf.backend());
  if (backend.refCount(t.dataId) !== 1) return null;
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/**
 * Whether the active backend can read tensors synchronously (`dataSync`). tfjs-backend-webgpu
 * reads synchronously through an OffscreenCanvas, which Node does not have: there every read
 * must be `await data()`.
 */
export function readsSynchronously(): boolean {
  return tf.getBackend() !== 'webgpu';
}
