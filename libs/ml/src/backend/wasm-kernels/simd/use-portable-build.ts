/**
 * Imported first by the `*.portable.spec.ts` files: selects the portable build of the SIMD
 * kernels (mul + add where the default build fuses a multiply-add through relaxed SIMD) for the
 * test file that imports it. Jest gives each test file its own modules and its own copy of
 * `process.env`, so the build is chosen afresh there and nowhere else.
 */
process.env['TFLEET_WASM_RELAXED_SIMD'] = '0';
