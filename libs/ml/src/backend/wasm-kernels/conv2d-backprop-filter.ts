import * as tf from '@tensorflow/tfjs';
import { cnnKernels } from './cnn-simd';
import { floatOffset, heapFloats, PatchGeometry, registeredMatMul, singleChannelPatchColumns } from './conv-patches';
import { runStock } from './stock-kernels';
import { asWasmBackend, disposeAll, heapOffset, KernelArgs, view } from './wasm-internals';

/*
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter, so no convolution can train on it
 * (tfjs#8474). The filter gradient
 *   dW[i, j, c, o] = sum over n, y, x of xPadded[n, y*s + i, x*s + j, c] * dy[n, y, x, o]
 * is one matrix product over the input patches (im2col):
 *   dW as [fh*fw*Cin, Cout] (already the filter's memory layout) = colsᵀ · dy,
 * with cols [N*OH*OW, fh*fw*Cin] and dy used as it lies, [N*OH*OW, Cout]. The product runs on
 * the registered BatchMatMul (the project's SIMD GEMM, where a transposed operand costs nothing).
 *
 * An earlier version ran the gradient as one dilated XNNPACK Conv2D with the input channels as
 * the batch; for the 1-channel first cnn-mnist conv that is a conv of one 28x28x64 image by a
 * 26x26x64 filter, which took 5.4 ms (now ~1 ms), and 4.6 ms for the second conv (now ~2.7 ms).
 */

/** Largest patch matrix (floats) built at once; bigger batches are processed a few images at a time. */
const DEFAULT_MAX_PATCH_FLOATS = 1 << 22;
let maxPatchFloats = DEFAULT_MAX_PATCH_FLOATS;

/** Tests only: a small budget makes small inputs take the several-pieces path. No argument restores the default. */
export function setMaxPatchFloatsForTests(floats = DEFAULT_MAX_PATCH_FLOATS): void {
  maxPatchFloats = floats;
}

function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs ?? {};
  const strides = attrs['strides'] as number | [number, number];
  const pad = attrs['pad'] as 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  const dataFormat = (attrs['dataFormat'] as string | undefined) ?? 'NHWC';
  const dimRoundingMode = attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined;
  const filterShape = attrs['filterShape'] as [number, number, number, number];

  if (dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropFilter on wasm supports dataFormat 'NHWC' only (got '${dataFormat}')`);
  }
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`Conv2DBackpropFilter on wasm needs float32 inputs (got x ${x.dtype}, dy ${dy.dtype})`);
  }
  if (x.shape.length !== 4 || dy.shape.length !== 4 || filterShape?.length !== 4) {
    throw new Error(`Conv2DBackpropFilter needs rank-4 x, dy and filterShape (got x [${x.shape}], dy [${dy.shape}], filterShape [${filterShape}])`);
  }
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
  const [n, h, w, cIn] = x.shape;
  const [fh, fw, , cOut] = filterShape;
  const [, oh, ow] = dy.shape;
  if (info.outHeight !== oh || info.outWidth !== ow || dy.shape[0] !== n || dy.shape[3] !== cOut || filterShape[2] !== cIn) {
    throw new Error(
      `Conv2DBackpropFilter: dy [${dy.shape}] does not match the forward output [${n}, ${info.outHeight}, ${info.outWidth}, ${cOut}] of x [${x.shape}] and filter [${filterShape}]`,
    );
  }
  const geometry: PatchGeometry = { h, w, cIn, fh, fw, oh, ow, sh: info.strideHeight, sw: info.strideWidth, top: info.padInfo.top, left: info.padInfo.left };
  const k = fh * fw * cIn;
  const pixelsPerImage = oh * ow;
  if (n * pixelsPerImage * k * cOut === 0) {
    const zeros = backend.makeOutput([...filterShape], 'float32');
    (backend.typedArrayFromHeap(zeros) as Float32Array).fill(0);
    return zeros;
  }
  // One input channel: the transposed patch layout [k, pixels] copies whole output rows at
  // once; otherwise patch rows [pixels, k] copy runs of fw*Cin floats.
  const transposedPatches = cIn === 1;
  const imagesPerChunk = Math.max(1, Math.min(n, Math.floor(maxPatchFloats / (k * pixelsPerImage))));
  const temporaries: Array<tf.TensorInfo | null> = [];
  let result: tf.TensorInfo | null = null;
  try {
    const cols = backend.makeOutput([imagesPerChunk * pixelsPerImage * k], 'float32');
    temporaries.push(cols);
    for (let b0 = 0; b0 < n; b0 += imagesPerChunk) {
      const images = Math.min(n, b0 + imagesPerChunk) - b0;
      const rows = images * pixelsPerImage;
      let dyChunk = dy;
      if (images < n) {
        dyChunk = runStock('Slice', { inputs: { x: dy }, backend, attrs: { begin: [b0, 0, 0, 0], size: [images, oh, ow, cOut] } });
        temporaries.push(dyChunk);
      }
      if (transposedPatches) {
        singleChannelPatchColumns(heapFloats(backend), floatOffset(backend, x) + b0 * h * w, floatOffset(backend, cols), geometry, images);
      } else {
        const xAt = heapOffset(backend, x) + 4 * b0 * h * w * cIn;
        const g = geometry;
        cnnKernels(backend).im2col(xAt, heapOffset(backend, cols), images, h, w, cIn, fh, fw, oh, ow, g.sh, g.sw, g.top, g.left);
      }
      const product = registeredMatMul(
        backend,
        view(cols, transposedPatches ? [k, rows] : [rows, k]),
        view(dyChunk, [rows, cOut]),
        !transposedPatches,
        false,
      );
      if (result === null) {
        result = product;
      } else {
        temporaries.push(product);
        const sum = backend.typedArrayFromHeap(view(result, [k * cOut])) as Float32Array;
        const add = backend.typedArrayFromHeap(view(product, [k * cOut])) as Float32Array;
        for (let i = 0; i < sum.length; i++) sum[i] += add[i];
      }
    }
    const out = result as tf.TensorInfo;
    out.shape = [...filterShape];
    return out;
  } catch (error) {
    temporaries.push(result);
    throw error;
  } finally {
    disposeAll(backend, temporaries);
  }
}

export const conv2DBackpropFilterKernel: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as tf.KernelFunc,
};
