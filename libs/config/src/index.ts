export * from './config';
export * from './tokens';
export * from './wasm-simd';
export * from './native-gemm';
