import { type CheckpointPayload, experimentSpecSchema, type RankReport } from '@tfleet/contracts';
import { RankGroup, type RankTransport } from '@tfleet/parallel';
import { RANK_ENTRY_POINTS } from '../../workers/rank-entry-points';

/*
 * The training loop on webgpu, on real rank processes: 2 webgpu ranks (process transport, one
 * Dawn device each, their gradients read asynchronously before the all-reduce, clipping read
 * asynchronously too) learn what 1 wasm rank learns on the same global batches and seed. SGD,
 * so float rounding stays rounding; tolerance 1e-4 on losses, metrics and every weight after
 * 6 steps. Without a GPU the ranks use Mesa's llvmpipe (TFLEET_WEBGPU_ALLOW_SOFTWARE=1 in their
 * environment); when it is missing the test fails with the reason.
 */
const TOLERANCE = 1e-4;
const spec = experimentSpecSchema.parse({
  dataset: { name: 'synthetic-images', height: 8, width: 8, channels: 1, classes: 4, samples: 200 },
  model: { family: 'cnn', blocks: [{ filters: 4, kernelSize: 3 }], denseUnits: [8], dropout: 0 },
  training: { epochs: 1, maxSteps: 6, batchSize: 8, seed: 5, evalSamples: 16, optimizer: 'sgd', learningRate: 0.05, clipNorm: 1 },
});

interface Summary {
  trainLoss: number;
  test: Record<string, number>;
  weights: Float32Array;
  device: string;
}

async function train(backend: 'wasm' | 'webgpu', transport: RankTransport, worldSize: number): Promise<Summary> {
  const reports: RankReport[] = [];
  const group = new RankGroup({ transport, worldSize, entryPoints: RANK_ENTRY_POINTS, barrierTimeoutMs: 120_000, ...(transport === 'processes' ? { env: { ...process.env, TFLEET_WEBGPU_ALLOW_SOFTWARE: '1' }, webgpuAdapters: [0] } : {}) });
  await group.run(
    (rank) => ({ experimentId: '5d0c1a8e-3b7f-4c2a-9e61-0f4b2d7c8a93', attempt: 1, spec: { ...spec, training: { ...spec.training, backend } }, rank, worldSize, backend }),
    (report) => reports.push(report),
  );
  expect(group.liveWorkers()).toBe(0);
  const ready = reports.find((r) => r.kind === 'ready');
  const epoch = reports.find((r) => r.kind === 'epoch');
  const completed = reports.find((r) => r.kind === 'completed');
  const final = reports.filter((r): r is Extract<RankReport, { kind: 'checkpoint' }> => r.kind === 'checkpoint').at(-1);
  if (ready?.kind !== 'ready' || epoch?.kind !== 'epoch' || completed?.kind !== 'completed' || final?.checkpoint.kind !== 'final') {
    throw new Error(`run did not report ready, an epoch, a final checkpoint and completion: ${reports.map((r) => r.kind).join(', ')}`);
  }
  return { trainLoss: epoch.train['loss']!, test: completed.test, weights: decode(final.checkpoint), device: ready.device };
}

function decode(checkpoint: CheckpointPayload): Float32Array {
  const bytes = Buffer.from(checkpoint.model.weightDataBase64, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

describe('training on webgpu rank processes', () => {
  it(`2 webgpu ranks learn what 1 wasm rank learns (within ${TOLERANCE}) and record the adapter`, async () => {
    const wasm = await train('wasm', 'threads', 1);
    const webgpu = await train('webgpu', 'processes', 2);
    expect(webgpu.device).toMatch(/\(WebGPU\/Dawn\).*api (vulkan|metal|d3d12|opengles)/);
    expect(Math.abs(webgpu.trainLoss - wasm.trainLoss)).toBeLessThan(TOLERANCE);
    expect(Object.keys(webgpu.test).sort()).toEqual(Object.keys(wasm.test).sort());
    for (const key of Object.keys(wasm.test)) expect(Math.abs(webgpu.test[key]! - wasm.test[key]!)).toBeLessThan(TOLERANCE);
    expect(webgpu.weights.length).toBe(wasm.weights.length);
    let worst = 0;
    webgpu.weights.forEach((w, i) => (worst = Math.max(worst, Math.abs(w - wasm.weights[i]!))));
    expect(worst).toBeLessThan(TOLERANCE);
  }, 300_000);
});
