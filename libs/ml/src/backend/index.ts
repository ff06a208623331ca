export * from './backend';
export { registerWasmKernels, unregisterWasmKernels, wasmKernelsRegistered, TFLEET_WASM_KERNELS } from './wasm-kernels';
export { registerFastGradients } from './gradients/tile-grad';
