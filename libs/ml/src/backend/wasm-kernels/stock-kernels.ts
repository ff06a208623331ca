import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from './wasm-internals';

/**
 * The wasm backend's own kernels, captured before the project overrides any of them, so an
 * override can call through to the original (and `unregisterWasmKernels` can put it back).
 * Module state is per worker thread, like the kernel registry it mirrors.
 */
const stock = new Map<string, tf.KernelConfig | null>();

export function rememberStock(kernelName: string): void {
  if (stock.has(kernelName)) return;
  const existing = tf.getKernel(kernelName, 'wasm');
  stock.set(kernelName, existing ? { ...existing } : null);
}

export function stockConfig(kernelName: string): tf.KernelConfig | null {
  return stock.get(kernelName) ?? null;
}

export function forgetStock(): Map<string, tf.KernelConfig | null> {
  const copy = new Map(stock);
  stock.clear();
  return copy;
}

/** Runs the original wasm kernel (or the current one when the project never replaced it). */
export function runStock(kernelName: string, args: KernelArgs): tf.TensorInfo {
  const config = stock.get(kernelName) ?? tf.getKernel(kernelName, 'wasm');
  if (!config) throw new Error(`the wasm backend has no ${kernelName} kernel`);
  const out = config.kernelFunc(args);
  if (Array.isArray(out)) throw new Error(`${kernelName} returned several outputs where one was expected`);
  return out;
}
