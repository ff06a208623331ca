import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfleet/ml';
import { largestWaitPerStep } from './main';
import { ANY_WORKLOAD_NAMES, buildWorkload, WORKLOAD_NAMES, type WorkloadName } from './workloads';

/**
 * The reference workloads as WORKLOADS.md defines them, pinned by their parameter counts, input
 * and output shapes and global batch, so that a change to a definition fails here instead of
 * silently changing what the README's table compares. The counts, layer by layer:
 *
 * - cnn-mnist: conv 1->16 3x3 (16*9 + 16 = 160), conv 16->32 3x3 (32*144 + 32 = 4,640),
 *   28 -> 26 -> 13 -> 11 -> 5, so dense 5*5*32 -> 10 (8,000 + 10): 12,810.
 * - lstm-lm: embedding 64x32 (2,048), LSTM 4 gates x 128 x (32 + 128) + one bias 4 x 128
 *   (82,432), dense 128 -> 64 (8,256): 92,736. PyTorch's LSTM has a second bias
 *   (b_hh, 512 more: 93,248), which changes no cost that matters.
 * - gru-lm: as lstm-lm with 3 gates (61,824): 72,128 (PyTorch: 72,512, its b_hh).
 * - transformer-enc: token and position embeddings 2 x 64x128 (16,384); per layer attention
 *   4 x (128*128 + 128) (66,048), feed-forward 128*256 + 256 + 256*128 + 128 (65,920), two
 *   layer norms (512): 132,480, twice; dense 128 -> 64 (8,256): 289,600, as PyTorch's.
 */
const DEFINITIONS: Record<WorkloadName, { params: number; input: Array<number | null>; inputDtype: string; output: Array<number | null>; globalBatch: number }> = {
  'cnn-mnist': { params: 12_810, input: [null, 28, 28, 1], inputDtype: 'float32', output: [null, 10], globalBatch: 64 },
  'lstm-lm': { params: 92_736, input: [null, 32], inputDtype: 'int32', output: [null, 64], globalBatch: 64 },
  'gru-lm': { params: 72_128, input: [null, 32], inputDtype: 'int32', output: [null, 64], globalBatch: 64 },
  'transformer-enc': { params: 289_600, input: [null, 64], inputDtype: 'int32', output: [null, 64], globalBatch: 32 },
  'simple-rnn-lm': { params: 30_912, input: [null, 32], inputDtype: 'int32', output: [null, 64], globalBatch: 64 },
  'simple-rnn-lm-stock': { params: 30_912, input: [null, 32], inputDtype: 'int32', output: [null, 64], globalBatch: 64 },
};

describe('reference workloads', () => {
  // On wasm, as the bench runs them: the recurrent layers' orthogonal initialiser (a QR of
  // [128, 512]) takes ~10 s per model on the pure-JS cpu backend, ~0.3 s here.
  beforeAll(async () => {
    await initBackend('wasm');
  });

  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('are the four of WORKLOADS.md, and the extra ones by name', () => {
    expect([...WORKLOAD_NAMES].sort()).toEqual(['cnn-mnist', 'gru-lm', 'lstm-lm', 'transformer-enc']);
    expect([...ANY_WORKLOAD_NAMES].sort()).toEqual(Object.keys(DEFINITIONS).sort());
  });

  it.each([...ANY_WORKLOAD_NAMES])('%s has its definition: parameter count, shapes, global batch, and a batch that fits', (name) => {
    const before = tf.memory().numTensors;
    const workload = buildWorkload(name);
    const expected = DEFINITIONS[name];
    try {
      expect(workload.model.countParams()).toBe(expected.params);
      expect(workload.model.trainableWeights.reduce((sum, w) => sum + w.read().size, 0)).toBe(expected.params);
      expect(workload.model.inputs.map((i) => [i.shape, i.dtype])).toEqual([[expected.input, expected.inputDtype]]);
      expect(workload.model.outputs.map((o) => o.shape)).toEqual([expected.output]);
      expect(workload.globalBatch).toBe(expected.globalBatch);
      const batch = workload.makeBatch(2, 1);
      expect(batch.inputs[0]!.shape).toEqual([2, ...expected.input.slice(1)]);
      expect(batch.labels.shape).toEqual([2]);
      const classes = expected.output[1]!;
      expect(Array.from(batch.labels.dataSync()).every((l) => Number.isInteger(l) && l >= 0 && l < classes)).toBe(true);
      tf.dispose([...batch.inputs, batch.labels]);
    } finally {
      workload.model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('largestWaitPerStep', () => {
  it("is the per-step wait of the rank that waited most, not the slowest rank's", () => {
    expect(largestWaitPerStep([{ allReduceWaitMs: 20, steps: 100 }, { allReduceWaitMs: 90, steps: 100 }])).toBeCloseTo(0.9, 12);
    expect(largestWaitPerStep([{ allReduceWaitMs: 5, steps: 0 }])).toBe(0);
  });
});
