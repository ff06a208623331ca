import * as tf from '@tensorflow/tfjs';
import { runStock } from './stock-kernels';
import { asWasmBackend, KernelArgs, sizeOf } from './wasm-internals';

/*
 * The stock wasm Tile visits every output element in JS (about 10 ns each): 25 ms per tiled
 * layer-norm parameter in the transformer workload. Tiling repeats whole rows, so copy
 * contiguous runs with TypedArray.set on the wasm heap instead.
 */
function tile(args: KernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { x } = args.inputs as { x: tf.TensorInfo };
  const reps = (args.attrs?.['reps'] as number[] | undefined) ?? [];
  if (x.dtype === 'string' || x.shape.length === 0 || reps.length !== x.shape.length) return runStock('Tile', args);
  if (reps.some((r) => !Number.isInteger(r) || r < 0)) throw new Error(`Tile: reps must be non-negative integers (got [${reps}])`);
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = backend.makeOutput(outShape, x.dtype);
  if (sizeOf(outShape) === 0) return out;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const inner = x.shape[rank - 1];
  const outInner = outShape[rank - 1];
  const outRows = sizeOf(outShape) / outInner;
  // Row-major strides (in rows) of x without its last axis.
  const xRowStrides = new Array<number>(rank - 1);
  let stride = 1;
  for (let axis = rank - 2; axis >= 0; axis--) {
    xRowStrides[axis] = stride;
    stride *= x.shape[axis];
  }
  const index = new Array<number>(rank - 1).fill(0);
  for (let row = 0; row < outRows; row++) {
    let srcRow = 0;
    for (let axis = 0; axis < rank - 1; axis++) srcRow += (index[axis] % x.shape[axis]) * xRowStrides[axis];
    const base = row * outInner;
    if (inner === 1) {
      dst.fill(src[srcRow], base, base + outInner);
    } else {
      dst.set(src.subarray(srcRow * inner, srcRow * inner + inner), base);
      // Repeat along the last axis by doubling the filled run.
      for (let filled = inner; filled < outInner; ) {
        const n = Math.min(filled, outInner - filled);
        dst.copyWithin(base + filled, base, base + n);
        filled += n;
      }
    }
    for (let axis = rank - 2; axis >= 0; axis--) {
      if (++index[axis] < outShape[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}

export const tileKernel: tf.KernelConfig = { kernelName: 'Tile', backendName: 'wasm', kernelFunc: tile as tf.KernelFunc };
