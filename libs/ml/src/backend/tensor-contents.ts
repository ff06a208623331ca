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
