import { type CheckpointPayload, experimentSpecSchema, type ExperimentSpecInput, type RankReport } from '@tfleet/contracts';
import { RankGroup, type RankTransport } from '@tfleet/parallel';
import { RANK_ENTRY_POINTS } from '../../workers/rank-entry-points';

/**
 * Data parallelism must not change what is learned: 2 ranks and 1 rank, on the same global
 * batches and seed, with dropout on (masks drawn per sample from the seed, the step and the
 * sample's position in the global batch, never the rank), reach the same losses and
 * parameters after 20 steps. Only the order of float additions differs (each rank sums its
 * half of the batch, then the halves are added), so losses and parameters agree to float
 * rounding: measured at most 2e-8 (losses) and 1.2e-7 (parameters) with Adam and dropout on
 * all three models, checked at 1e-5.
 *
 * One exception: an attention key bias has a gradient that is exactly zero in exact arithmetic
 * (adding the same q.b_k to every logit of a softmax row changes nothing), so what it receives
 * is rounding noise, and Adam normalises noise into steps of up to the learning rate. Those
 * weights differ by up to 2e-4 here; they are held to the bound steps x learning rate.
 */
const PARAM_TOLERANCE = 1e-5;
const LOSS_TOLERANCE = 1e-5;
const ZERO_GRADIENT_WEIGHT = /key_bias$/;

const training = { epochs: 1, maxSteps: 20, batchSize: 8, seed: 7, evalSamples: 16, backend: 'wasm', optimizer: 'adam', learningRate: 1e-3 } as const;
const specs: Record<string, ExperimentSpecInput> = {
  cnn: {
    dataset: { name: 'synthetic-images', height: 8, width: 8, channels: 1, classes: 4, samples: 400 },
    model: { family: 'cnn', blocks: [{ filters: 4, kernelSize: 3, dropout: 0.2 }], denseUnits: [8], dropout: 0.3 },
    training,
  },
  lstm: {
    dataset: { name: 'adding', sequenceLength: 10, samples: 400 },
    model: { family: 'lstm', units: 8, embeddingDim: 8, layers: 2, dropout: 0.3 },
    training,
  },
  transformer: {
    dataset: { name: 'adding', sequenceLength: 10, samples: 400 },
    model: { family: 'transformer', dModel: 8, heads: 2, ffDim: 16, encoderLayers: 1, decoderLayers: 0, dropout: 0.2 },
    training,
  },
};

interface RunSummary {
  trainLoss: number;
  validation: Record<string, number>;
  test: Record<string, number>;
  steps: number;
  weights: Float32Array;
  weightSpecs: CheckpointPayload['model']['weightSpecs'];
}

async function train(family: string, transport: RankTransport, worldSize: number): Promise<RunSummary> {
  const spec = experimentSpecSchema.parse(specs[family]);
  const reports: RankReport[] = [];
  const group = new RankGroup({ transport, worldSize, entryPoints: RANK_ENTRY_POINTS, barrierTimeoutMs: 30_000 });
  await group.run(
    (rank) => ({ experimentId: '0b8f5a52-2f7e-4d3c-9a31-6c1f0e2d4b77', attempt: 1, spec, rank, worldSize, backend: 'wasm' }),
    (report) => reports.push(report),
  );
  expect(group.liveWorkers()).toBe(0);
  const epoch = reports.find((r) => r.kind === 'epoch');
  const completed = reports.find((r) => r.kind === 'completed');
  const final = reports.filter((r): r is Extract<RankReport, { kind: 'checkpoint' }> => r.kind === 'checkpoint').at(-1);
  if (epoch?.kind !== 'epoch' || completed?.kind !== 'completed' || final?.checkpoint.kind !== 'final') {
    throw new Error(`run did not report an epoch, a final checkpoint and completion: ${reports.map((r) => r.kind).join(', ')}`);
  }
  return { trainLoss: epoch.train['loss']!, validation: epoch.validation, test: completed.test, steps: completed.steps, weights: decodeWeights(final.checkpoint), weightSpecs: final.checkpoint.model.weightSpecs };
}

function decodeWeights(checkpoint: CheckpointPayload): Float32Array {
  expect(checkpoint.model.weightSpecs.every((w) => w.dtype === 'float32')).toBe(true);
  const bytes = Buffer.from(checkpoint.model.weightDataBase64, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function maxAbsDifference(a: Float32Array, b: Float32Array, from = 0, to = a.length): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = from; i < to; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Each weight's largest difference, by name. */
function weightDifferences(a: RunSummary, b: RunSummary): Map<string, number> {
  expect(a.weightSpecs).toEqual(b.weightSpecs);
  const differences = new Map<string, number>();
  let offset = 0;
  for (const spec of a.weightSpecs) {
    const size = spec.shape.reduce((x, y) => x * y, 1);
    differences.set(spec.name, maxAbsDifference(a.weights, b.weights, offset, offset + size));
    offset += size;
  }
  expect(offset).toBe(a.weights.length);
  return differences;
}

function expectMetricsClose(actual: Record<string, number>, expected: Record<string, number>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const key of Object.keys(expected)) expect(Math.abs(actual[key]! - expected[key]!)).toBeLessThanOrEqual(LOSS_TOLERANCE);
}

describe.each(Object.keys(specs))('data-parallel %s: 2 ranks train like 1', (family) => {
  let single: RunSummary;
  let threads: RunSummary;

  beforeAll(async () => {
    single = await train(family, 'threads', 1);
  });

  it('on 2 threads: same losses and parameters after 20 steps', async () => {
    threads = await train(family, 'threads', 2);
    expect(threads.steps).toBe(20);
    expect(single.steps).toBe(20);
    expect(Math.abs(threads.trainLoss - single.trainLoss)).toBeLessThanOrEqual(LOSS_TOLERANCE);
    expectMetricsClose(threads.validation, single.validation);
    expectMetricsClose(threads.test, single.test);
    const zeroGradientBound = training.maxSteps * training.learningRate;
    for (const [name, difference] of weightDifferences(threads, single)) {
      const tolerance = ZERO_GRADIENT_WEIGHT.test(name) ? zeroGradientBound : PARAM_TOLERANCE;
      expect({ name, difference, withinTolerance: difference <= tolerance }).toEqual({ name, difference, withinTolerance: true });
    }
  });

  it('on 2 processes: bit-identical to 2 threads (same reduction, same order)', async () => {
    const processes = await train(family, 'processes', 2);
    expect(processes.trainLoss).toBe(threads.trainLoss);
    expect(processes.test).toEqual(threads.test);
    expect(maxAbsDifference(processes.weights, threads.weights)).toBe(0);
  });
});
