import { heapModuleLoader } from '../wasm-internals';
import { ACT_KERNELS_WASM_BASE64 } from './act-kernels-wasm';

/**
 * Loader of the project's SIMD activation kernels (act-kernels.wat: exp, tanh, erf and the tanh
 * and erf gradients). Like ../simd (the GEMM module), the module imports the tfjs wasm backend's
 * own WebAssembly.Memory, so it works on tensors where they live; one instance per backend,
 * i.e. per worker thread. Arguments are byte offsets of float32 tensors on the heap and element
 * counts; outputs may alias inputs.
 *
 * The polynomial coefficients in the .wat were fitted for it by fit-coefficients.py (minimax by
 * Lawson's iteration in float64 over dense grids, rounded to float32); act-simd.spec.ts
 * measures the resulting error against float64 references and against the cpu backend.
 */
export interface ActKernelExports {
  exp(x: number, out: number, count: number): void;
  tanh(x: number, out: number, count: number): void;
  erf(x: number, out: number, count: number): void;
  /** out = dy (1 - y^2), y = tanh(x). */
  tanh_grad(dy: number, y: number, out: number, count: number): void;
  /** out = dy 2/sqrt(pi) exp(-x^2). */
  erf_grad(dy: number, x: number, out: number, count: number): void;
}

/** This backend's instance of the activation kernels, instantiated on first use. */
export const actKernels = heapModuleLoader<ActKernelExports>('tfleet activation kernels', ACT_KERNELS_WASM_BASE64);
