import * as tf from '@tensorflow/tfjs';
import { cnnKernels } from './cnn-simd';
import { runStock } from './stock-kernels';
import { asWasmBackend, heapOffset, KernelArgs } from './wasm-internals';

/*
 * The stock wasm MaxPoolGrad took 22 ms of a 57 ms cnn-mnist step, and a plain JS pass over dy
 * still ~3 ms for the first pool's gradient (branch mispredictions on every window). Each dy
 * value goes to the first maximum of its window (rows, then columns, strict '>' from -Infinity:
 * the cpu backend's rule, which decides ties such as all-zero windows after a ReLU, never picks
 * NaN and routes nothing out of an all -Infinity window). The SIMD kernels (cnn-simd) do it on
 * the heap: 2x2 stride-2 windows four channels at a time with compare masks instead of
 * branches, any other pool with a scalar wasm loop.
 */

interface PoolGeometry {
  n: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  fh: number;
  fw: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
}

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
  const g: PoolGeometry = {
    n,
    h,
    w,
    c,
    oh: info.outHeight,
    ow: info.outWidth,
    fh: info.filterHeight,
    fw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
  if (dy.shape[0] !== n || dy.shape[1] !== g.oh || dy.shape[2] !== g.ow || dy.shape[3] !== c) {
    throw new Error(`MaxPoolGrad: dy [${dy.shape}] does not match the pooled shape [${n}, ${g.oh}, ${g.ow}, ${c}] of [${input.shape}]`);
  }
  const kernels = cnnKernels(backend);
  const out = backend.makeOutput(input.shape, 'float32');
  if (n * h * w * c === 0) return out;
  const xAt = heapOffset(backend, input);
  const dyAt = heapOffset(backend, dy);
  const dxAt = heapOffset(backend, out);
  if (g.fh === 2 && g.fw === 2 && g.sh === 2 && g.sw === 2 && g.top === 0 && g.left === 0) {
    // Windows lying wholly inside the image go to the SIMD kernel, which writes all four
    // positions of each; 'same' padding of an odd size leaves a last row/column of windows
    // that hang over the edge, routed here in JS (with the same rule) after zeroing.
    const fullH = Math.min(g.oh, Math.floor(h / 2));
    const fullW = Math.min(g.ow, Math.floor(w / 2));
    if (2 * fullH < h || 2 * fullW < w) (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
    kernels.max_pool_grad_2x2(xAt, dyAt, dxAt, n, h, w, c, fullH, fullW, g.oh, g.ow);
    if (fullH < g.oh || fullW < g.ow) {
      routeEdgeWindows(
        backend.typedArrayFromHeap(input) as Float32Array,
        backend.typedArrayFromHeap(dy) as Float32Array,
        backend.typedArrayFromHeap(out) as Float32Array,
        g,
        fullH,
        fullW,
      );
    }
  } else if (g.fh === 2 && g.fw === 1 && g.sh === 2 && g.sw === 1 && g.top === 0 && g.left === 0 && g.oh === Math.floor(h / 2) && g.ow === w) {
    // MaxPooling1D's [2, 1] windows: each window is one element of two consecutive rows, so the
    // gradient is elementwise over row pairs (the generic loop took 1.5 ms of cnn/adding's step
    // for [64,98,1,32]). An odd last row belongs to no window.
    const rowFloats = w * c;
    if (h % 2 === 0) {
      kernels.max_pool_grad_row_pairs(xAt, dyAt, dxAt, n * g.oh, rowFloats);
    } else {
      const imageBytes = 4 * h * rowFloats;
      const dyImageBytes = 4 * g.oh * rowFloats;
      const dx = backend.typedArrayFromHeap(out) as Float32Array;
      for (let b = 0; b < n; b++) {
        kernels.max_pool_grad_row_pairs(xAt + b * imageBytes, dyAt + b * dyImageBytes, dxAt + b * imageBytes, g.oh, rowFloats);
        dx.fill(0, ((b + 1) * h - 1) * rowFloats, (b + 1) * h * rowFloats);
      }
    }
  } else {
    kernels.max_pool_grad(xAt, dyAt, dxAt, n, h, w, c, g.oh, g.ow, g.fh, g.fw, g.sh, g.sw, g.top, g.left);
  }
  return out;
}

/** dx += dy at the first maximum of every window except those with oy < fullH and ox < fullW. */
function routeEdgeWindows(x: Float32Array, dy: Float32Array, dx: Float32Array, g: PoolGeometry, fullH: number, fullW: number): void {
  const { n, h, w, c, oh, ow, fh, fw, sh, sw, top, left } = g;
  const rowStride = w * c;
  for (let b = 0; b < n; b++) {
    const imageBase = b * h * rowStride;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - top;
      const r0 = Math.max(0, -y0);
      const r1 = Math.min(fh, h - y0);
      for (let ox = oy < fullH ? fullW : 0; ox < ow; ox++) {
        const x0 = ox * sw - left;
        const c0 = Math.max(0, -x0);
        const c1 = Math.min(fw, w - x0);
        let gi = ((b * oh + oy) * ow + ox) * c;
        for (let ch = 0; ch < c; ch++, gi++) {
          let best = -1;
          let bestValue = -Infinity;
          for (let r = r0; r < r1; r++) {
            const rowBase = imageBase + (y0 + r) * rowStride + ch;
            for (let col = c0; col < c1; col++) {
              const idx = rowBase + (x0 + col) * c;
              if (x[idx] > bestValue) {
                best = idx;
                bestValue = x[idx];
              }
            }
          }
          if (best >= 0) dx[best] += dy[gi];
        }
      }
    }
  }
}

export const maxPoolGradKernel: tf.KernelConfig = { kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: maxPoolGrad as tf.KernelFunc };
