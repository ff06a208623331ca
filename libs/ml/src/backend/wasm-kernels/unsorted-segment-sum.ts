import * as tf from '@tensorflow/tfjs';
import { runStock } from './stock-kernels';
import { asWasmBackend, KernelArgs, sizeOf, view } from './wasm-internals';

/*
 * UnsortedSegmentSum is the gradient of Gather, so every embedding layer needs it; tfjs-backend-
 * wasm 4.22 lacks it (tfjs#8082). The wasm ScatterNd kernel computes the same sum (it adds up
 * duplicate indices), but unlike TensorFlow it would write out-of-range ids anywhere, so ids
 * are checked first and a bad one is an error rather than a wrong gradient.
 */
function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = Number(args.attrs?.['numSegments']);
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`UnsortedSegmentSum: numSegments must be a non-negative integer (got ${String(args.attrs?.['numSegments'])})`);
  }
  if (segmentIds.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum: segmentIds must be int32 (got ${segmentIds.dtype})`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum on wasm supports float32 and int32 data (got ${x.dtype})`);
  }
  const idsRank = segmentIds.shape.length;
  if (idsRank < 1 || idsRank > x.shape.length || segmentIds.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`);
  }
  const count = sizeOf(segmentIds.shape);
  const rest = x.shape.slice(idsRank);
  const ids = backend.typedArrayFromHeap(segmentIds);
  for (let i = 0; i < count; i++) {
    const id = ids[i];
    if (id < 0 || id >= numSegments) {
      throw new Error(`UnsortedSegmentSum: segment id ${id} at position ${i} is outside [0, ${numSegments})`);
    }
  }
  return runStock('ScatterNd', {
    inputs: { indices: view(segmentIds, [count, 1]), updates: view(x, [count, ...rest]) },
    backend,
    attrs: { shape: [numSegments, ...rest] },
  });
}

export const unsortedSegmentSumKernel: tf.KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as tf.KernelFunc,
};
