import * as tf from '@tensorflow/tfjs';
import { runStock } from './stock-kernels';
import { asWasmBackend, disposeAll, KernelArgs } from './wasm-internals';

/*
 * The stock wasm Conv2DBackpropInput is a naive loop (33 ms of an 88 ms cnn-mnist step). For
 * stride 1 the input gradient is a plain convolution that XNNPACK runs fast:
 *   dx = conv2d(pad(dy, filter - 1 - pad), rot180(W) with in/out channels swapped, 'valid').
 * Strided cases keep the stock kernel (they would need a zero-inserted dy).
 */
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
  const [fh, fw] = filter.shape;
  const { top, bottom, left, right } = info.padInfo;
  const padding = [fh - 1 - top, fh - 1 - bottom, fw - 1 - left, fw - 1 - right];
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || padding.some((p) => p < 0)) return runStock('Conv2DBackpropInput', args);

  const temporaries: tf.TensorInfo[] = [];
  try {
    const padded = runStock('PadV2', {
      inputs: { x: dy },
      backend,
      attrs: { paddings: [[0, 0], [padding[0], padding[1]], [padding[2], padding[3]], [0, 0]], constantValue: 0 },
    });
    temporaries.push(padded);
    const rotated = runStock('Reverse', { inputs: { x: filter }, backend, attrs: { dims: [0, 1] } });
    temporaries.push(rotated);
    const swapped = runStock('Transpose', { inputs: { x: rotated }, backend, attrs: { perm: [0, 1, 3, 2] } });
    temporaries.push(swapped);
    const dx = runStock('Conv2D', {
      inputs: { x: padded, filter: swapped },
      backend,
      attrs: { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] },
    });
    if (dx.shape.some((d, i) => d !== inputShape[i])) {
      temporaries.push(dx);
      throw new Error(`Conv2DBackpropInput: computed [${dx.shape}] instead of the input shape [${inputShape}]`);
    }
    return dx;
  } finally {
    disposeAll(backend, temporaries);
  }
}

export const conv2DBackpropInputKernel: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as tf.KernelFunc,
};
