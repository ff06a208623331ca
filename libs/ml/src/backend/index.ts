export * from './backend';
export { registerWasmKernels, unregisterWasmKernels, wasmKernelsRegistered, TFLEET_WASM_KERNELS } from './wasm-kernels';
export { registerFastGradients } from './gradients/tile-grad';
export { activateWebGpu, activeWebGpuAdapter, describeAdapter, listAdapters, webgpuBufferCounts, webgpuEnv, webgpuRankAdapters, type WebGpuAdapterRecord, type WebGpuBufferCounts, type ListedAdapter } from './webgpu';
export { probeWebGpu, type WebGpuProbe } from './webgpu-probe';
