import { heapModuleLoader } from '../wasm-internals';
import { CNN_KERNELS_WASM_BASE64 } from './cnn-kernels-wasm';

/**
 * Loader of the project's SIMD convolution/pooling gradient kernels (cnn-kernels.wat). Like
 * ../simd (the GEMM module), the module imports the tfjs wasm backend's own WebAssembly.Memory,
 * so it works on tensors where they live; one instance per backend, i.e. per worker thread.
 * Arguments are byte offsets on the heap and element counts.
 */
export interface CnnKernelExports {
  /** Patch rows [n*oh*ow, fh*fw*c] of the NHWC input at x (zeros outside the image). */
  im2col(x: number, cols: number, n: number, h: number, w: number, c: number, fh: number, fw: number, oh: number, ow: number, sh: number, sw: number, top: number, left: number): void;
  /** x += the patch rows at cols scattered back onto the image (the adjoint of im2col). */
  col2im_add(cols: number, x: number, n: number, h: number, w: number, c: number, fh: number, fw: number, oh: number, ow: number, sh: number, sw: number, top: number, left: number): void;
  /** 2x2 stride-2 windows (oy < fullH, ox < fullW) with no top/left padding; writes all four dx positions of each. */
  max_pool_grad_2x2(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, fullH: number, fullW: number, oh: number, ow: number): void;
  /** [2, 1] windows, stride [2, 1], no padding, over `pairs` consecutive input row pairs of rowFloats floats; writes both dx rows. */
  max_pool_grad_row_pairs(x: number, dy: number, dx: number, pairs: number, rowFloats: number): void;
  /** Any window, stride and padding; zeroes dx first. */
  max_pool_grad(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number, fh: number, fw: number, sh: number, sw: number, top: number, left: number): void;
  /** out = dy * step(x) (NaN where x is NaN) over count floats. */
  relu_grad(dy: number, x: number, out: number, count: number): void;
}

/** This backend's instance of the CNN kernels, instantiated on first use. */
export const cnnKernels = heapModuleLoader<CnnKernelExports>('tfleet cnn kernels', CNN_KERNELS_WASM_BASE64);
