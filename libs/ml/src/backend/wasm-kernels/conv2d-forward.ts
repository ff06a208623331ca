import * as tf from '@tensorflow/tfjs';
import { cnnKernels } from './cnn-simd';
import { floatOffset, heapFloats, PatchGeometry, singleChannelPatchColumns } from './conv-patches';
import { runStock } from './stock-kernels';
import { asWasmBackend, disposeAll, heapOffset, KernelArgs, view } from './wasm-internals';

/*
 * Conv2D and FusedConv2D as im2col + one product on the registered _FusedMatMul (the project's
 * SIMD GEMM, which adds a per-column bias as it stores its tiles and then applies the
 * activation):
 *   out [N*OH*OW, Cout] = cols [N*OH*OW, fh*fw*Cin] · W [fh*fw*Cin, Cout] (+ bias, activation)
 * The output is NHWC as it lies. The stock kernels run XNNPACK, which on this CPU took 9.8 ms
 * for the second cnn-mnist conv ([64,13,13,32] by [3,3,32,64]) under the zoo profiler; the patch
 * path is the same product the two backprop kernels already run. A one-channel input uses the
 * transposed patch layout [k, pixels] (whole output rows copied at once) and a transposed A.
 * Anything else (dilation, NCHW, non-float32, prelu) goes to the stock kernel.
 */

/** Largest patch matrix (floats) built at once; bigger batches are processed a few images at a time. */
const DEFAULT_MAX_PATCH_FLOATS = 1 << 22;
let maxPatchFloats = DEFAULT_MAX_PATCH_FLOATS;

/** Tests only: a small budget makes small inputs take the several-pieces path. No argument restores the default. */
export function setMaxForwardPatchFloatsForTests(floats = DEFAULT_MAX_PATCH_FLOATS): void {
  maxPatchFloats = floats;
}

/** Shortest patch (fh*fw*Cin) of a many-channel input worth the patch path. */
const MIN_PATCH_LENGTH = 16;

type Activation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu';
const SUPPORTED_ACTIVATIONS: ReadonlySet<string> = new Set<Activation>(['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu']);

function unitDilations(d: unknown): boolean {
  if (d === undefined || d === null) return true;
  if (typeof d === 'number') return d === 1;
  return Array.isArray(d) && d.every((v) => v === 1);
}

function fusedProduct(backend: ReturnType<typeof asWasmBackend>, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, bias: tf.TensorInfo | undefined, activation: string, leakyreluAlpha: unknown): tf.TensorInfo {
  const config = tf.getKernel('_FusedMatMul', 'wasm');
  if (!config) throw new Error('the wasm backend has no _FusedMatMul kernel');
  const inputs: Record<string, tf.TensorInfo> = { a, b };
  if (bias) inputs['bias'] = bias;
  const attrs: Record<string, unknown> = { transposeA, transposeB: false, activation };
  if (leakyreluAlpha !== undefined) attrs['leakyreluAlpha'] = leakyreluAlpha;
  const out = config.kernelFunc({ inputs, backend: backend as unknown as tf.KernelBackend, attrs } as KernelArgs as Parameters<tf.KernelFunc>[0]);
  if (Array.isArray(out)) throw new Error('_FusedMatMul returned several outputs');
  return out;
}

function conv2DForward(kernelName: 'Conv2D' | 'FusedConv2D', args: KernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { x, filter, bias: fusedBias, preluActivationWeights } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
  const attrs = args.attrs ?? {};
  const dataFormat = (attrs['dataFormat'] as string | undefined) ?? 'NHWC';
  // Conv2D has neither bias nor activation, whatever its attrs carry.
  const activation = kernelName === 'FusedConv2D' ? String(attrs['activation'] ?? 'linear') : 'linear';
  const bias = kernelName === 'FusedConv2D' ? fusedBias : undefined;
  const biasIsRow = bias === undefined || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === filter.shape[3]);
  if (
    (dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') ||
    x.dtype !== 'float32' ||
    filter.dtype !== 'float32' ||
    x.shape.length !== 4 ||
    filter.shape.length !== 4 ||
    !unitDilations(attrs['dilations']) ||
    preluActivationWeights !== undefined ||
    !SUPPORTED_ACTIVATIONS.has(activation) ||
    !biasIsRow
  ) {
    return runStock(kernelName, args);
  }
  const xShape = x.shape as [number, number, number, number];
  const filterShape = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs['strides'] as number | [number, number],
    1,
    attrs['pad'] as 'valid' | 'same' | number | tf.backend_util.ExplicitPadding,
    attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
  );
  const [n, h, w, cIn] = xShape;
  const [fh, fw, filterCIn, cOut] = filterShape;
  if (filterCIn !== cIn) throw new Error(`${kernelName}: filter [${filterShape}] does not match input channels of x [${xShape}]`);
  const oh = info.outHeight;
  const ow = info.outWidth;
  const k = fh * fw * cIn;
  const pixelsPerImage = oh * ow;
  // Tiny patches of a many-channel input (cnn/adding's first conv: 3 steps x 2 features)
  // make a GEMM too thin to beat XNNPACK (0.24 against 0.17 ms for [64,1,100,2] by [1,3,2,32]).
  if (n * pixelsPerImage * k * cOut === 0 || (cIn > 1 && k < MIN_PATCH_LENGTH)) return runStock(kernelName, args);
  const geometry: PatchGeometry = { h, w, cIn, fh, fw, oh, ow, sh: info.strideHeight, sw: info.strideWidth, top: info.padInfo.top, left: info.padInfo.left };
  const transposedPatches = cIn === 1;
  const imagesPerChunk = Math.max(1, Math.min(n, Math.floor(maxPatchFloats / (k * pixelsPerImage))));
  const filterMatrix = view(filter, [k, cOut]);
  const temporaries: Array<tf.TensorInfo | null> = [];
  let out: tf.TensorInfo | null = null;
  try {
    const cols = backend.makeOutput([imagesPerChunk * pixelsPerImage * k], 'float32');
    temporaries.push(cols);
    if (imagesPerChunk < n) out = backend.makeOutput([n, oh, ow, cOut], 'float32');
    for (let b0 = 0; b0 < n; b0 += imagesPerChunk) {
      const images = Math.min(n, b0 + imagesPerChunk) - b0;
      const rows = images * pixelsPerImage;
      if (transposedPatches) {
        singleChannelPatchColumns(heapFloats(backend), floatOffset(backend, x) + b0 * h * w, floatOffset(backend, cols), geometry, images);
      } else {
        const g = geometry;
        cnnKernels(backend).im2col(heapOffset(backend, x) + 4 * b0 * h * w * cIn, heapOffset(backend, cols), images, h, w, cIn, fh, fw, oh, ow, g.sh, g.sw, g.top, g.left);
      }
      // A last chunk smaller than the buffer is a prefix of it (the transposed layout was
      // written with `rows` columns per row, so its prefix view is exact too).
      const a = view(cols, transposedPatches ? [k, rows] : [rows, k]);
      const product = fusedProduct(backend, a, filterMatrix, transposedPatches, bias, activation, attrs['leakyreluAlpha']);
      if (out === null) {
        product.shape = [n, oh, ow, cOut];
        out = product;
      } else {
        temporaries.push(product);
        const heap = heapFloats(backend);
        const src = floatOffset(backend, product);
        heap.copyWithin(floatOffset(backend, out) + b0 * pixelsPerImage * cOut, src, src + rows * cOut);
      }
    }
    return out as tf.TensorInfo;
  } catch (error) {
    temporaries.push(out);
    throw error;
  } finally {
    disposeAll(backend, temporaries);
  }
}

export const conv2DKernel: tf.KernelConfig = {
  kernelName: 'Conv2D',
  backendName: 'wasm',
  kernelFunc: ((args: KernelArgs) => conv2DForward('Conv2D', args)) as tf.KernelFunc,
};

export const fusedConv2DKernel: tf.KernelConfig = {
  kernelName: 'FusedConv2D',
  backendName: 'wasm',
  kernelFunc: ((args: KernelArgs) => conv2DForward('FusedConv2D', args)) as tf.KernelFunc,
};
