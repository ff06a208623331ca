/**
 * `TFLEET_NATIVE_GEMM`: `0` keeps every float32 product of the wasm backend on the project's
 * wasm SIMD GEMM even where the native AVX2 GEMM (native/gemm) is built and the CPU has AVX2
 * and FMA; `1` or unset uses the native one where it can. Read on its own, like
 * TFLEET_WASM_RELAXED_SIMD: rank threads and processes load the kernels and need only this.
 */
export function nativeGemmAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env['TFLEET_NATIVE_GEMM'];
  if (value === undefined || value === '' || value === '1') return true;
  if (value === '0') return false;
  throw new Error(`invalid environment: TFLEET_NATIVE_GEMM: '0' or '1', not '${value}'`);
}
