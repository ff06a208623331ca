import * as tf from '@tensorflow/tfjs';
import { cnnKernels } from './cnn-simd';
import { registeredMatMul } from './conv-patches';
import { runStock } from './stock-kernels';
import { asWasmBackend, disposeAll, heapOffset, KernelArgs, view } from './wasm-internals';

/*
 * The stock wasm Conv2DBackpropInput is a naive loop (33 ms of an 88 ms cnn-mnist step). The
 * input gradient is the adjoint of im2col applied to one matrix product:
 *   dcols [N*OH*OW, fh*fw*Cin] = dy [N*OH*OW, Cout] · Wᵀ   (W as [fh*fw*Cin, Cout], as it lies)
 *   dx = col2im(dcols)     (every patch row added back onto the pixels it came from)
 * The product runs on the registered BatchMatMul (the project's SIMD GEMM), col2im on the SIMD
 * kernel (cnn-simd col2im_add). Any stride and padding. Second cnn-mnist conv: 2.3 ms, against
 * 3.5 ms for the previous XNNPACK Conv2D of the padded dy by the rotated filter (stride 1 only).
 */

/** Largest patch matrix (floats) built at once; bigger batches are processed a few images at a time. */
const DEFAULT_MAX_PATCH_FLOATS = 1 << 22;
let maxPatchFloats = DEFAULT_MAX_PATCH_FLOATS;

/** Tests only: a small budget makes small inputs take the several-pieces path. No argument restores the default. */
export function setMaxInputGradPatchFloatsForTests(floats = DEFAULT_MAX_PATCH_FLOATS): void {
  maxPatchFloats = floats;
}

function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs ?? {};
  const inputShape = attrs['inputShape'] as [number, number, number, number];
  const dataFormat = (attrs['dataFormat'] as string | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC' || dy.dtype !== 'float32' || filter.dtype !== 'float32' || dy.shape.length !== 4 || filter.shape.length !== 4) {
    return runStock('Conv2DBackpropInput', args);
  }
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    attrs['strides'] as number | [number, number],
    1,
    attrs['pad'] as 'valid' | 'same' | number | tf.backend_util.ExplicitPadding,
    attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
  );
  const [n, h, w, cIn] = inputShape;
  const [fh, fw, , cOut] = filter.shape;
  const [, oh, ow] = dy.shape;
  if (info.outHeight !== oh || info.outWidth !== ow || dy.shape[0] !== n || dy.shape[3] !== cOut || filter.shape[2] !== cIn) {
    throw new Error(
      `Conv2DBackpropInput: dy [${dy.shape}] does not match the forward output [${n}, ${info.outHeight}, ${info.outWidth}, ${cOut}] of input [${inputShape}] and filter [${filter.shape}]`,
    );
  }
  const k = fh * fw * cIn;
  const pixelsPerImage = oh * ow;
  const imageFloats = h * w * cIn;
  const out = backend.makeOutput([...inputShape], 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
  if (n * pixelsPerImage * k * cOut === 0) return out;
  const imagesPerChunk = Math.max(1, Math.min(n, Math.floor(maxPatchFloats / (k * pixelsPerImage))));
  const temporaries: tf.TensorInfo[] = [];
  try {
    for (let b0 = 0; b0 < n; b0 += imagesPerChunk) {
      const images = Math.min(n, b0 + imagesPerChunk) - b0;
      const rows = images * pixelsPerImage;
      let dyChunk = dy;
      if (images < n) {
        dyChunk = runStock('Slice', { inputs: { x: dy }, backend, attrs: { begin: [b0, 0, 0, 0], size: [images, oh, ow, cOut] } });
        temporaries.push(dyChunk);
      }
      const dcols = registeredMatMul(backend, view(dyChunk, [rows, cOut]), view(filter, [k, cOut]), false, true);
      temporaries.push(dcols);
      cnnKernels(backend).col2im_add(
        heapOffset(backend, dcols),
        heapOffset(backend, out) + 4 * b0 * imageFloats,
        images,
        h,
        w,
        cIn,
        fh,
        fw,
        oh,
        ow,
        info.strideHeight,
        info.strideWidth,
        info.padInfo.top,
        info.padInfo.left,
      );
    }
    return out;
  } catch (error) {
    temporaries.push(out);
    throw error;
  } finally {
    disposeAll(backend, temporaries);
  }
}

export const conv2DBackpropInputKernel: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as tf.KernelFunc,
};
