import { heapModuleLoader } from '../wasm-internals';
import { RNN_KERNELS_WASM_BASE64 } from './rnn-kernels-wasm';

/**
 * Loader of the project's SIMD gate arithmetic for the fused LSTM/GRU/SimpleRNN kernels (rnn-kernels.wat).
 * Like ../simd (the GEMM module), the module imports the tfjs wasm backend's own
 * WebAssembly.Memory, so it works on tensors where they live; one instance per backend, i.e. per
 * worker thread. Pointers are byte offsets on the heap, `batch` and `u` element counts (any
 * u >= 1: f32x4 over floor(u/4)·4 columns, one lane at a time for the rest). `mask` and `extra` are -1 when absent. See rnn-kernels.wat for each
 * function's layouts.
 */
export interface RnnKernelExports {
  lstm_pre(z: number, gates: number, twice: number, batch: number, u: number, hard: number): void;
  lstm_cell(gates: number, sigc: number, sigcStrideBytes: number, cPrev: number, cNext: number, twice: number, mask: number, batch: number, u: number): void;
  lstm_out(gates: number, sig: number, tanhC: number, hPrev: number, hNext: number, mask: number, batch: number, u: number): void;
  lstm_backward(gates: number, tanhC: number, cPrev: number, dh: number, dc: number, dz: number, extra: number, bias: number, mask: number, batch: number, u: number, hard: number): void;
  gru_add_input(zr: number, xw: number, batch: number, u: number): void;
  gru_gates(za: number, gates: number, hPrev: number, rh: number, batch: number, u: number, hard: number): void;
  gru_candidate(xwh: number, hr: number, twice: number, batch: number, u: number): void;
  gru_out(sig: number, gates: number, hPrev: number, hNext: number, mask: number, batch: number, u: number): void;
  gru_backward_zh(gates: number, hPrev: number, dh: number, dz: number, dzr: number, dhh: number, bias: number, mask: number, batch: number, u: number, hard: number): void;
  gru_backward_r(gates: number, hPrev: number, drh: number, dh: number, dz: number, dzr: number, extra: number, bias: number, mask: number, batch: number, u: number, hard: number): void;
  srnn_double(x: number, count: number): void;
  srnn_out(src: number, hPrev: number, hNext: number, mask: number, batch: number, u: number, relu: number): void;
  srnn_backward(h: number, dh: number, dz: number, extra: number, bias: number, mask: number, batch: number, u: number, relu: number): void;
}

/** This backend's instance of the recurrent gate kernels, instantiated on first use. */
export const rnnKernels = heapModuleLoader<RnnKernelExports>('tfleet rnn kernels', RNN_KERNELS_WASM_BASE64);
