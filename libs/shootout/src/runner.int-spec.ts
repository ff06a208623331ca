import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfleet/ml';
import type { ShootoutSuite } from './presets';
import { runShootout } from './runner';
import { renderMarkdown } from './table';

const images = { name: 'synthetic-images', samples: 200, height: 8, width: 8 } as const;
const training = { epochs: 2, batchSize: 32, seed: 5 } as const;

const tiny: ShootoutSuite = {
  name: 'tiny',
  description: 'Two tiny models on synthetic images, and one that cannot be built.',
  metric: { name: 'accuracy', better: 'higher', baseline: 'majorityAccuracy' },
  // Reached by any model after its first epoch, so convergence is always found.
  target: { metric: 'accuracy', goal: 'at-least', value: 0 },
  entries: [
    { label: 'cnn', spec: { dataset: images, model: { family: 'cnn', blocks: [{ filters: 4 }], denseUnits: [8], dropout: 0 }, training } },
    { label: 'mlp', spec: { dataset: images, model: { family: 'cnn', blocks: [], denseUnits: [8], dropout: 0 }, training } },
    {
      label: 'broken',
      // Valid for the contract, refused by the model builder: a language model cannot be bidirectional.
      spec: { dataset: { name: 'brown', maxTokens: 1_000, vocabSize: 16, sequenceLength: 4 }, model: { family: 'lstm', units: 4, embeddingDim: 4, bidirectional: true }, training },
    },
  ],
  claims: [
    { id: 'cnn-vs-mlp', statement: 'The CNN is more accurate than the MLP.', checks: [{ kind: 'beats', row: 'cnn', others: ['mlp'], quantity: { of: 'test', metric: 'accuracy' }, better: 'higher' }] },
    { id: 'broken', statement: 'The broken model reaches low error.', checks: [{ kind: 'beats', row: 'broken', others: ['mlp'], quantity: { of: 'samplesPerSecond' }, better: 'higher' }] },
  ],
};

describe('runShootout (wasm, one rank, tiny suite)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    // Settle the per-layer constants tfjs caches on first use before counting tensors.
    await runShootout(tiny, { only: ['cnn', 'mlp'] });
  });

  it('trains each entry with the rank loop and reports a row per model, a failed build as an error row', async () => {
    const before = tf.memory().numTensors;
    const seen: string[] = [];
    const result = await runShootout(tiny, { onEntry: (label) => seen.push(label) });
    expect(tf.memory().numTensors).toBe(before);
    expect(seen).toEqual(['cnn', 'mlp', 'broken']);
    expect(result.rows.map((r) => r.label)).toEqual(['cnn', 'mlp', 'broken']);

    for (const row of result.rows.slice(0, 2)) {
      expect(row.error).toBeNull();
      expect(row.params).toBeGreaterThan(0);
      expect(row.epochs.map((e) => e.epoch)).toEqual([1, 2]);
      expect(row.epochs.map((e) => e.samples)).toEqual([160, 320]);
      expect(row.convergence).toMatchObject({ epoch: 1, samples: 160 });
      expect(row.test['accuracy']).toBeGreaterThanOrEqual(0);
      expect(row.baselines['majorityAccuracy']).toBeGreaterThan(0);
      expect(row.samplesPerSecond).toBeGreaterThan(0);
      expect(row.wallMs).toBeGreaterThanOrEqual(row.trainMs);
      expect(row.backend).toBe('wasm');
    }
    // The MLP's params: 64 inputs x 8 + 8, then 8 x 10 + 10 (synthetic images have 10 classes).
    expect(result.rows[1]!.params).toBe(64 * 8 + 8 + 8 * 10 + 10);

    const broken = result.rows[2]!;
    expect(broken.error).toMatch(/bidirectional/);
    expect(broken.params).toBeNull();

    expect(result.claims[0]!.verdict).not.toBe('not measured');
    expect(result.claims[1]!.verdict).toBe('not measured');
    expect(result.specs['cnn']!.training.epochs).toBe(2);
    expect(result.environment.backend).toBe('wasm');
    expect(renderMarkdown(result)).toContain('| broken | lstm | n/a | failed:');
  });
});
