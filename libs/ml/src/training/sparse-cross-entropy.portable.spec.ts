// sparse-cross-entropy.spec.ts again, on the portable build of the SIMD kernels (no relaxed SIMD): its
// rounding differs from the default build's fused multiply-add, and CPUs without relaxed SIMD
// support run it.
import '../backend/wasm-kernels/simd/use-portable-build';
import './sparse-cross-entropy.spec';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend';
import { simdKernels, simdKernelsBuild } from '../backend/wasm-kernels/simd';
import { asWasmBackend } from '../backend/wasm-kernels/wasm-internals';

describe('sparse-cross-entropy on the portable build', () => {
  it('ran the cases above on the portable build', async () => {
    await initBackend('wasm');
    expect(simdKernelsBuild()).toBe('portable');
    expect(simdKernels(asWasmBackend(tf.findBackend('wasm'))).build).toBe('portable');
    await tf.setBackend('cpu');
  });
});
