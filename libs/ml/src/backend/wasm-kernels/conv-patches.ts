import * as tf from '@tensorflow/tfjs';
import { heapOffset, KernelArgs, WasmBackend } from './wasm-internals';

/**
 * Helpers of the convolution gradient kernels. Patch rows (im2col) of a many-channel input
 * are laid out by the SIMD kernel (cnn-simd im2col); a one-channel input is laid out here,
 * transposed, where each output row's stretch of pixels is one `copyWithin` of an input row
 * (the first cnn-mnist conv's filter gradient takes 0.8 ms this way, 1.6 ms through the kernel's
 * 1-float runs).
 */

export interface PatchGeometry {
  h: number;
  w: number;
  cIn: number;
  fh: number;
  fw: number;
  oh: number;
  ow: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
}

/** The whole wasm heap as floats. Take it after the last allocation: growing the heap detaches it. */
export function heapFloats(backend: WasmBackend): Float32Array {
  const heap = (backend.wasm as unknown as { HEAPU8?: Uint8Array }).HEAPU8;
  if (!(heap instanceof Uint8Array)) throw new Error('tfleet wasm kernels need the tfjs-backend-wasm 4.22 internal backend.wasm.HEAPU8');
  return new Float32Array(heap.buffer);
}

/** Float index of a float32 tensor's first element in {@link heapFloats}. */
export function floatOffset(backend: WasmBackend, t: tf.TensorInfo): number {
  const bytes = heapOffset(backend, t);
  if (bytes % 4 !== 0) throw new Error(`tensor at heap byte ${bytes} is not float aligned`);
  return bytes / 4;
}

/**
 * Transposed patches of a one-channel input, `[fh*fw, images*oh*ow]`: row (i, j) holds input
 * pixel (oy*sh - top + i, ox*sw - left + j) for every output pixel. With stride 1 each output
 * row's stretch is one contiguous run of the input row.
 */
export function singleChannelPatchColumns(heap: Float32Array, x: number, cols: number, g: PatchGeometry, images: number): void {
  const { h, w, fh, fw, oh, ow, sh, sw, top, left } = g;
  let dst = cols;
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      // Output columns whose input column ox*sw - left + j lies inside [0, w).
      const oxLo = Math.min(ow, Math.max(0, Math.ceil((left - j) / sw)));
      const oxHi = Math.max(oxLo, Math.min(ow, Math.floor((w - 1 + left - j) / sw) + 1));
      for (let b = 0; b < images; b++) {
        const imageBase = x + b * h * w;
        for (let oy = 0; oy < oh; oy++, dst += ow) {
          const iy = oy * sh - top + i;
          if (iy < 0 || iy >= h) {
            heap.fill(0, dst, dst + ow);
            continue;
          }
          if (oxLo > 0) heap.fill(0, dst, dst + oxLo);
          if (oxHi < ow) heap.fill(0, dst + oxHi, dst + ow);
          const src = imageBase + iy * w + oxLo * sw - left + j;
          if (sw === 1) {
            heap.copyWithin(dst + oxLo, src, src + (oxHi - oxLo));
          } else {
            for (let ox = oxLo, s = src; ox < oxHi; ox++, s += sw) heap[dst + ox] = heap[s];
          }
        }
      }
    }
  }
}

/**
 * a·b through whatever BatchMatMul the wasm backend has registered now (the project's own when
 * its kernels are registered), so these kernels use the fastest product available.
 */
export function registeredMatMul(backend: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo {
  const config = tf.getKernel('BatchMatMul', 'wasm');
  if (!config) throw new Error('the wasm backend has no BatchMatMul kernel');
  const args: KernelArgs = { inputs: { a, b }, backend: backend as unknown as tf.KernelBackend, attrs: { transposeA, transposeB } };
  const out = config.kernelFunc(args);
  if (Array.isArray(out)) throw new Error('BatchMatMul returned several outputs');
  return out;
}
