import * as tf from '@tensorflow/tfjs';
import { runStock } from './stock-kernels';
import { asWasmBackend, disposeAll, KernelArgs } from './wasm-internals';

/*
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter, so no convolution can train on it
 * (tfjs#8474). The filter gradient
 *   dW[i, j, c, o] = sum over n, y, x of xPadded[n, y*s + i, x*s + j, c] * dy[n, y, x, o]
 * is itself a convolution: with the input channels as the batch axis and the batch as the
 * channel axis, it is a stride-1 convolution of the padded input by dy, dilated by the
 * forward stride. XNNPACK runs that as one fast Conv2D.
 */
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
  const { top, left } = info.padInfo;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  // Only rows/cols up to (out-1)*stride + filter-1 are read; pad just enough to reach them.
  const neededH = (oh - 1) * sh + fh;
  const neededW = (ow - 1) * sw + fw;
  const bottom = Math.max(0, neededH - top - h);
  const right = Math.max(0, neededW - left - w);

  const temporaries: tf.TensorInfo[] = [];
  const keep = (t: tf.TensorInfo): tf.TensorInfo => {
    temporaries.push(t);
    return t;
  };
  try {
    let padded = x;
    if (top || bottom || left || right) {
      padded = keep(
        runStock('PadV2', {
          inputs: { x },
          backend,
          attrs: { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 },
        }),
      );
    }
    const ph = padded.shape[1];
    const pw = padded.shape[2];
    if (ph > neededH || pw > neededW) {
      padded = keep(runStock('Slice', { inputs: { x: padded }, backend, attrs: { begin: [0, 0, 0, 0], size: [n, neededH, neededW, cIn] } }));
    }
    // [N, H, W, Cin] -> [Cin, H, W, N]: input channels become the batch.
    const channelsAsBatch = keep(runStock('Transpose', { inputs: { x: padded }, backend, attrs: { perm: [3, 1, 2, 0] } }));
    // [N, OH, OW, Cout] -> [OH, OW, N, Cout]: dy becomes a filter over the batch "channels".
    const dyAsFilter = keep(runStock('Transpose', { inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }));
    const grad = keep(
      runStock('Conv2D', {
        inputs: { x: channelsAsBatch, filter: dyAsFilter },
        backend,
        attrs: { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [sh, sw] },
      }),
    ); // [Cin, fh, fw, Cout]
    return runStock('Transpose', { inputs: { x: grad }, backend, attrs: { perm: [1, 2, 0, 3] } });
  } finally {
    disposeAll(backend, temporaries);
  }
}

export const conv2DBackpropFilterKernel: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as tf.KernelFunc,
};
