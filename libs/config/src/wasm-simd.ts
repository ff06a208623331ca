/**
 * `TFLEET_WASM_RELAXED_SIMD`: `0` selects the portable build of the project's SIMD kernels
 * (multiply then add) where relaxed SIMD would fuse a multiply-add. Read here, where every other
 * setting is read, but on its own: the wasm kernels load in rank threads and processes, which
 * inherit the environment and need only this one setting (not the whole validated config).
 */
export function wasmRelaxedSimdAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env['TFLEET_WASM_RELAXED_SIMD'];
  if (value === undefined || value === '' || value === '1') return true;
  if (value === '0') return false;
  throw new Error(`invalid environment: TFLEET_WASM_RELAXED_SIMD: '0' or '1', not '${value}'`);
}
