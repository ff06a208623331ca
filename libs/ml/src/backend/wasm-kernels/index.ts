import * as tf from '@tensorflow/tfjs';
import { adamKernel } from './adam';
import { erfGradKernel, erfKernel, expKernel, tanhGradKernel, tanhKernel } from './activations';
import { attentionGradKernel, attentionKernel } from './attention';
import { conv2DBackpropFilterKernel } from './conv2d-backprop-filter';
import { conv2DBackpropInputKernel } from './conv2d-backprop-input';
import { conv2DKernel, fusedConv2DKernel } from './conv2d-forward';
import { gatherV2Kernel } from './gather';
import { castKernel, identityKernel } from './identity';
import { layerNormGradKernel, layerNormKernel } from './layer-norm';
import { batchMatMulKernel, fusedMatMulKernel } from './matmul';
import { maxPoolGradKernel } from './max-pool-grad';
import { sumKernel } from './reduce-sum';
import { reluGradKernel } from './relu-grad';
import { softmaxXentGradKernel, softmaxXentKernel } from './softmax-cross-entropy';
import { forgetStock, rememberStock, stockConfig } from './stock-kernels';
import { tileKernel } from './tile';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum';
import { type GemmEngine, simdGemmEngine } from './simd';
import { asWasmBackend } from './wasm-internals';

/** The kernels the project adds to or replaces in tfjs-backend-wasm, by kernel name. */
export const TFLEET_WASM_KERNELS: readonly tf.KernelConfig[] = [
  batchMatMulKernel,
  fusedMatMulKernel,
  conv2DBackpropFilterKernel,
  conv2DBackpropInputKernel,
  conv2DKernel,
  fusedConv2DKernel,
  unsortedSegmentSumKernel,
  tileKernel,
  maxPoolGradKernel,
  identityKernel,
  castKernel,
  sumKernel,
  gatherV2Kernel,
  reluGradKernel,
  layerNormKernel,
  layerNormGradKernel,
  attentionKernel,
  attentionGradKernel,
  adamKernel,
  softmaxXentKernel,
  softmaxXentGradKernel,
  tanhKernel,
  expKernel,
  erfKernel,
  tanhGradKernel,
  erfGradKernel,
];

let registered = false;

/**
 * Imports tfjs-backend-wasm (which registers the 'wasm' backend and its stock kernels) only
 * when asked: importing it at module load would make 'wasm' the highest-priority backend in
 * every process that imports @tfleet/ml, and code that does not await tf.setBackend would fail.
 */
export function loadWasmBackendPackage(): void {
  require('@tensorflow/tfjs-backend-wasm');
}

/**
 * Registers the project's wasm kernels in this thread's tfjs kernel registry. Each worker
 * thread has its own registry, so every thread that trains on wasm must call it (initBackend
 * does). Idempotent. The kernels look up wasm functions lazily per backend instance, so it
 * works whether it runs before or after `tf.setBackend('wasm')`.
 */
export function registerWasmKernels(): void {
  if (registered) return;
  loadWasmBackendPackage();
  for (const config of TFLEET_WASM_KERNELS) {
    // Capture the original before replacing it, so overrides can call through.
    for (const dependency of ['BatchMatMul', '_FusedMatMul', 'Transpose', 'Conv2D', 'PadV2', 'Slice', 'ScatterNd', 'Tile', 'Reverse', 'Conv2DBackpropInput', 'MaxPoolGrad', 'Add', 'Relu', 'Relu6', 'Elu', 'Sigmoid', 'LeakyRelu', 'Prelu']) {
      rememberStock(dependency);
    }
    rememberStock(config.kernelName);
    const original = stockConfig(config.kernelName);
    if (original) tf.unregisterKernel(config.kernelName, 'wasm');
    // The backend runs setupFuncs of the kernels registered when it initialises; the stock
    // kernel we call through still needs its setup (it cwraps its wasm function there).
    tf.registerKernel({ ...config, setupFunc: original?.setupFunc, disposeFunc: original?.disposeFunc });
  }
  registered = true;
}

/** Puts the stock tfjs-backend-wasm kernels back (for `--compare-stock` and tests). */
export function unregisterWasmKernels(): void {
  if (!registered) return;
  const stock = forgetStock();
  for (const config of TFLEET_WASM_KERNELS) {
    tf.unregisterKernel(config.kernelName, 'wasm');
    const original = stock.get(config.kernelName);
    if (original) tf.registerKernel(original);
  }
  registered = false;
}

export function wasmKernelsRegistered(): boolean {
  return registered;
}

/**
 * Where the active wasm backend's float32 products run: 'native-avx2' where the native GEMM is
 * built and active (simd/native-gemm.ts), else 'wasm'. Null when wasm is not the active backend
 * or the project's kernels are not registered on it.
 */
export function activeWasmGemmEngine(): GemmEngine | null {
  if (!registered || tf.getBackend() !== 'wasm') return null;
  return simdGemmEngine(asWasmBackend(tf.backend()));
}
