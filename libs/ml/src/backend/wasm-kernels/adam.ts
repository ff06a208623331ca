import * as tf from '@tensorflow/tfjs';
import { simdKernels } from './simd';
import { asWasmBackend, heapOffset, KernelArgs, sizeOf } from './wasm-internals';

/**
 * One Adam update of one variable as a single wasm kernel (simd adam), for FusedAdam: tfjs'
 * AdamOptimizer spends ~13 kernels per variable per step. Inputs value, m, v, g (float32, same
 * size); attrs beta1, beta2, learningRate, epsilon, c1 = 1 - beta1^t, c2 = 1 - beta2^t.
 * Outputs the new value, m and v.
 */
export const ADAM = 'TfleetAdam';

function adam(args: KernelArgs): tf.TensorInfo[] {
  const backend = asWasmBackend(args.backend);
  const { value, m, v, g } = args.inputs as Record<'value' | 'm' | 'v' | 'g', tf.TensorInfo>;
  const n = sizeOf(value.shape);
  for (const t of [value, m, v, g]) {
    if (t.dtype !== 'float32' || sizeOf(t.shape) !== n) throw new Error(`${ADAM}: value, m, v and g must be float32 of one size (got [${t.shape}] ${t.dtype} for value [${value.shape}])`);
  }
  const attr = (name: string): number => Number(args.attrs?.[name]);
  const outs = [value, m, v].map((t) => backend.makeOutput(t.shape, 'float32'));
  if (n > 0) {
    const [beta1, beta2] = [attr('beta1'), attr('beta2')];
    // 1 - beta in double, rounded to float32 at the call: what tfjs' `mul(g, 1 - beta1)` uses.
    simdKernels(backend).exports.adam(
      heapOffset(backend, value),
      heapOffset(backend, m),
      heapOffset(backend, v),
      heapOffset(backend, g),
      n,
      beta1,
      1 - beta1,
      beta2,
      1 - beta2,
      attr('learningRate'),
      attr('c1'),
      attr('c2'),
      attr('epsilon'),
      heapOffset(backend, outs[0]),
      heapOffset(backend, outs[1]),
      heapOffset(backend, outs[2]),
    );
  }
  return outs;
}

export const adamKernel: tf.KernelConfig = { kernelName: ADAM, backendName: 'wasm', kernelFunc: adam as unknown as tf.KernelFunc };
