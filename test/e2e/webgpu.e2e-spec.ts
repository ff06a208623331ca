import { finishedExperiment, startTestStack, type TestStack } from '../utils/tfleet-stack.util';

interface ExperimentBody {
  id: string;
  status: string;
  error: string | null;
  metrics: Record<string, number> | null;
  runtime: { backend: string; device: string; ranks: number; rankTransport: string; tfjsVersion: string } | null;
}

/*
 * One experiment through the API on a worker started with TFLEET_BACKEND=webgpu. CI has no GPU,
 * so the worker may use a software adapter (Mesa's llvmpipe, installed by .ci/run); on a GPU
 * machine the same test runs on the hardware adapter. Either way the run must complete on a
 * rank process and record the adapter as its device.
 */
describe('a webgpu experiment over HTTP (real API and worker, rank process on Dawn)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ TFLEET_BACKEND: 'webgpu', TFLEET_WEBGPU_ALLOW_SOFTWARE: '1' });
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('trains a small CNN on webgpu and records the adapter as the run device', async () => {
    const submitted = await stack.request('POST', '/api/experiments', {
      name: 'e2e-webgpu-cnn',
      dataset: { name: 'mnist', samples: 600 },
      model: { family: 'cnn', blocks: [{ filters: 4 }], denseUnits: [16], dropout: 0 },
      training: { epochs: 1, batchSize: 32, learningRate: 0.003, seed: 3, backend: 'webgpu' },
    });
    expect(submitted.status).toBe(201);
    const id = (submitted.body as ExperimentBody).id;
    const done = await finishedExperiment<ExperimentBody>(stack, id, 240_000);
    if (done.status !== 'completed') throw new Error(`webgpu experiment ${done.status}: ${done.error}\n${stack.output.join('').slice(-4000)}`);
    expect(done.error).toBeNull();
    expect(done.runtime).toMatchObject({ backend: 'webgpu', ranks: 1, rankTransport: 'processes', tfjsVersion: '4.22.0' });
    expect(done.runtime!.device).toMatch(/^(GPU|software adapter) \(WebGPU\/Dawn\): .+ \[vendor .*, architecture .*, description .*, api (vulkan|metal|d3d12|opengles), adapter 0\]$/);
    expect(Number.isFinite(done.metrics!['accuracy'])).toBe(true);
    expect(done.metrics!['accuracy']).toBeGreaterThan(0.2);
  }, 300_000);
});
