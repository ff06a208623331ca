import * as tf from '@tensorflow/tfjs';
import { runStock } from './stock-kernels';
import { asWasmBackend, KernelArgs } from './wasm-internals';

/*
 * The stock wasm MaxPoolGrad took 22 ms of a 57 ms cnn-mnist step. Here each dy value goes to
 * the first maximum of its window (rows, then columns, strict '>' starting from -Infinity: the
 * cpu backend's rule, which decides ties such as all-zero windows after a ReLU, skips NaN and
 * routes nothing out of an all -Infinity window), in one pass over dy on the wasm heap.
 * Windows of 2x2 that lie wholly inside the image (every window of the common 2x2/stride-2
 * valid pool) take an unrolled path: the generic loop cost ~32 ns a window, 5.6 ms of the
 * 26x26x16 pool's gradient at batch 64.
 */
function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const attrs = args.attrs ?? {};
  if (dy.dtype !== 'float32' || input.dtype !== 'float32' || input.shape.length !== 4) return runStock('MaxPoolGrad', args);
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs['filterSize'] as number | [number, number],
    attrs['strides'] as number | [number, number],
    1,
    attrs['pad'] as 'valid' | 'same' | number,
    attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
  );
  const [n, h, w, c] = input.shape;
  const { outHeight: oh, outWidth: ow, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  if (dy.shape[0] !== n || dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== c) {
    throw new Error(`MaxPoolGrad: dy [${dy.shape}] does not match the pooled shape [${n}, ${oh}, ${ow}, ${c}] of [${input.shape}]`);
  }
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const out = backend.makeOutput(input.shape, 'float32');
  // Views taken after makeOutput: allocating can grow (and detach) the wasm memory.
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const rowStride = w * c;
  const imageStride = h * rowStride;
  const twoByTwo = fh === 2 && fw === 2;
  let gi = 0;
  for (let b = 0; b < n; b++) {
    const imageBase = b * imageStride;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - top;
      const r0 = Math.max(0, -y0);
      const r1 = Math.min(fh, h - y0);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = ox * sw - left;
        const c0 = Math.max(0, -x0);
        const c1 = Math.min(fw, w - x0);
        if (twoByTwo && r0 === 0 && c0 === 0 && r1 === 2 && c1 === 2) {
          gi = routeTwoByTwo(x, g, dx, imageBase + y0 * rowStride + x0 * c, rowStride, c, gi);
          continue;
        }
        for (let ch = 0; ch < c; ch++, gi++) {
          let best = -1;
          let bestValue = -Infinity;
          for (let r = r0; r < r1; r++) {
            const rowBase = imageBase + (y0 + r) * rowStride + ch;
            for (let col = c0; col < c1; col++) {
              const idx = rowBase + (x0 + col) * c;
              const v = x[idx];
              if (v > bestValue) {
                best = idx;
                bestValue = v;
              }
            }
          }
          if (best >= 0) dx[best] += g[gi];
        }
      }
    }
  }
  return out;
}

/** One 2x2 window, all channels; returns the next dy index. Same tie rule as the generic loop. */
function routeTwoByTwo(x: Float32Array, g: Float32Array, dx: Float32Array, corner: number, rowStride: number, c: number, gi: number): number {
  const end = corner + c;
  for (let i00 = corner; i00 < end; i00++, gi++) {
    const i01 = i00 + c;
    const i10 = i00 + rowStride;
    const i11 = i10 + c;
    let best = -1;
    let bestValue = -Infinity;
    const v00 = x[i00];
    if (v00 > bestValue) {
      best = i00;
      bestValue = v00;
    }
    const v01 = x[i01];
    if (v01 > bestValue) {
      best = i01;
      bestValue = v01;
    }
    const v10 = x[i10];
    if (v10 > bestValue) {
      best = i10;
      bestValue = v10;
    }
    if (x[i11] > bestValue) best = i11;
    if (best >= 0) dx[best] += g[gi];
  }
  return gi;
}

export const maxPoolGradKernel: tf.KernelConfig = { kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: maxPoolGrad as tf.KernelFunc };
