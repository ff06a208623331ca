/*
 * @tfleet/testing: helpers for specs and the bench, never for production code. Tiny task
 * descriptions, random batches in a task's layout and the standard model checks; the kernel
 * specs' error measure and their cpu-against-wasm runner; measured-looking shootout rows for the table and claim tests.
 */
export * from './models.util';
export { relativeError } from './relative-error.util';
export * from './backend-parity.util';
export { fakeRow } from './shootout-rows.util';
export * from './webgpu-parity';
