import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend';
import { compareRuns, PARITY_CASES, trainStepsOn } from '@tfleet/testing';

/*
 * Every model family trains on webgpu as it does on wasm: a tiny model of each family, the same
 * initial weights and batch, 3 SGD steps on each backend. Tolerance: step losses within 1e-4
 * relative and every weight within 1e-4 absolute (measured on llvmpipe: at most 5e-7); the
 * steps must move some weight by more than 1e-3, so agreement is not two idle models agreeing.
 * No tensor (tf.memory) and no GPU buffer (the backend's buffer manager) may outlive a run.
 * CI has no GPU: it runs on Mesa's llvmpipe (TFLEET_WEBGPU_ALLOW_SOFTWARE=1), installed by
 * .ci/run; without it the beforeAll fails with the reason instead of skipping.
 */
const TOLERANCE = 1e-4;

beforeAll(async () => {
  await initBackend('wasm');
  await initBackend('webgpu', { env: { ...process.env, TFLEET_WEBGPU_ALLOW_SOFTWARE: '1' } });
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(PARITY_CASES.map((c) => [c.name, c] as const))('%s on webgpu', (_name, testCase) => {
  it(`matches wasm within ${TOLERANCE} after 3 SGD steps and leaks no tensor or GPU buffer`, async () => {
    const wasm = await trainStepsOn('wasm', testCase);
    const webgpu = await trainStepsOn('webgpu', testCase, { initial: wasm.initial });
    const diff = compareRuns(wasm, webgpu);
    expect(webgpu.losses).toHaveLength(3);
    expect(diff.lossRelativeDifference).toBeLessThan(TOLERANCE);
    expect(diff.weightAbsoluteDifference).toBeLessThan(TOLERANCE);
    expect(diff.weightChange).toBeGreaterThan(1e-3);
    expect(wasm.leakedTensors).toBe(0);
    expect(webgpu.leakedTensors).toBe(0);
    expect(webgpu.leakedBuffers).toBe(0);
  });
});
