import * as tf from '@tensorflow/tfjs';
import { simdKernels } from './simd';
import { runStock } from './stock-kernels';
import { asWasmBackend, heapOffset, KernelArgs, sizeOf } from './wasm-internals';

/*
 * The stock wasm Sum reduces only over innermost axes: any other reduction first transposes
 * the whole input. Bias and layer-norm parameter gradients sum over the leading (batch, time)
 * axes of [rows, features] tensors, 1.6 ms per [2048, 128] sum in the transformer step.
 * Reductions whose axes form one contiguous run with kept axes after it run here as SIMD
 * column sums (simd sum_rows), once per block of the kept axes before the run; others
 * (innermost reductions, non-float32) go to the stock kernel.
 */

interface ColumnSumPlan {
  outer: number;
  rows: number;
  cols: number;
}

/** [outer, rows, cols] view of x, reducing rows, when the reduced axes allow it; else null. */
function columnSumPlan(shape: number[], axes: number[]): ColumnSumPlan | null {
  const reduced = new Set(axes);
  // Size-1 axes change nothing in memory order: drop them.
  const kinds = shape.map((d, i) => ({ d, reduced: reduced.has(i) })).filter((a) => a.d !== 1);
  const first = kinds.findIndex((a) => a.reduced);
  if (first < 0) return null;
  let end = first;
  while (end < kinds.length && kinds[end].reduced) end++;
  if (kinds.slice(end).some((a) => a.reduced)) return null;
  const cols = sizeOf(kinds.slice(end).map((a) => a.d));
  if (cols === 1) return null;
  return { outer: sizeOf(kinds.slice(0, first).map((a) => a.d)), rows: sizeOf(kinds.slice(first, end).map((a) => a.d)), cols };
}

function sum(args: KernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { x } = args.inputs as { x: tf.TensorInfo };
  const axes = tf.util.parseAxisParam((args.attrs?.['axis'] as number | number[] | undefined) ?? [], x.shape);
  const keepDims = Boolean(args.attrs?.['keepDims']);
  const plan = x.dtype === 'float32' && sizeOf(x.shape) > 0 ? columnSumPlan(x.shape, axes) : null;
  if (!plan) return runStock('Sum', args);
  const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  const out = backend.makeOutput(outShape, 'float32');
  const kernels = simdKernels(backend).exports;
  const xOffset = heapOffset(backend, x);
  const outOffset = heapOffset(backend, out);
  const block = plan.rows * plan.cols * 4;
  for (let o = 0; o < plan.outer; o++) kernels.sum_rows(xOffset + o * block, plan.rows, plan.cols, outOffset + o * plan.cols * 4);
  return out;
}

export const sumKernel: tf.KernelConfig = { kernelName: 'Sum', backendName: 'wasm', kernelFunc: sum as tf.KernelFunc };
