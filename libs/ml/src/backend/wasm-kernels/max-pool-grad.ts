import * as tf from '@tensorflow/tfjs';
import { runStock } from './stock-kernels';
import { asWasmBackend, KernelArgs } from './wasm-internals';

/*
 * The stock wasm MaxPoolGrad took 22 ms of a 57 ms cnn-mnist step. Routing each dy value to
 * the first maximum of its window (rows, then columns, strict '>': the cpu backend's rule, which
 * decides ties such as all-zero windows after a ReLU) is one pass over dy on the wasm heap.
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
  if (dy.shape[1] !== oh || dy.shape[2] !== ow) throw new Error(`MaxPoolGrad: dy [${dy.shape}] does not match the pooled shape of [${input.shape}]`);
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const out = backend.makeOutput(input.shape, 'float32');
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const rowStride = w * c;
  const imageStride = h * rowStride;
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
        for (let ch = 0; ch < c; ch++, gi++) {
          let best = -1;
          let bestValue = -Infinity;
          for (let r = r0; r < r1; r++) {
            const rowBase = imageBase + (y0 + r) * rowStride + ch;
            for (let col = c0; col < c1; col++) {
              const idx = rowBase + (x0 + col) * c;
              const v = x[idx];
              if (best < 0 || v > bestValue) {
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

export const maxPoolGradKernel: tf.KernelConfig = { kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: maxPoolGrad as tf.KernelFunc };
