import { WasmBackend } from '../wasm-internals';
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
  /** Any window, stride and padding; zeroes dx first. */
  max_pool_grad(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number, fh: number, fw: number, sh: number, sw: number, top: number, left: number): void;
  /** out = dy * step(x) (NaN where x is NaN) over count floats. */
  relu_grad(dy: number, x: number, out: number, count: number): void;
}

/** The parts of the WebAssembly JS API used here (the project compiles without the DOM lib). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => object;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

let compiled: object | null = null;
const instances = new WeakMap<object, CnnKernelExports>();

/** This backend's instance of the CNN kernels, instantiated on first use. */
export function cnnKernels(backend: WasmBackend): CnnKernelExports {
  let kernels = instances.get(backend);
  if (!kernels) {
    const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
    if (!(memory instanceof wasmApi.Memory)) {
      throw new Error('tfleet cnn kernels need the tfjs-backend-wasm 4.22 internal backend.wasm.asm.memory (a WebAssembly.Memory)');
    }
    compiled ??= new wasmApi.Module(Buffer.from(CNN_KERNELS_WASM_BASE64, 'base64'));
    kernels = new wasmApi.Instance(compiled, { env: { memory } }).exports as unknown as CnnKernelExports;
    instances.set(backend, kernels);
  }
  return kernels;
}
