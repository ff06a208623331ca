import * as tf from '@tensorflow/tfjs';
import { randomUUID } from 'node:crypto';
import { type CheckpointPayload, parseExperimentSpec, type RankReport, type RankTask } from '@tfleet/contracts';
import { initBackend } from '../backend/backend';
import { SoloCollective } from '@tfleet/parallel';
import { runTrainingRank } from './run-rank';

function taskFor(input: unknown, resumeFrom?: CheckpointPayload): RankTask {
  const parsed = parseExperimentSpec(input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return { experimentId: randomUUID(), attempt: 1, spec: parsed.value, rank: 0, worldSize: 1, backend: 'wasm', resumeFrom };
}

async function run(task: RankTask): Promise<RankReport[]> {
  const reports: RankReport[] = [];
  await runTrainingRank(task, new SoloCollective(), (r) => reports.push(r));
  return reports;
}

const only = <K extends RankReport['kind']>(reports: RankReport[], kind: K) => reports.filter((r): r is Extract<RankReport, { kind: K }> => r.kind === kind);

describe('runTrainingRank on one rank (wasm backend, tiny configurations)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    // A first run allocates a few process-wide constants once (kernel and layer caches);
    // leak checks compare against the count after it, as tfjs-layers' expectNoLeakedTensors does.
    await run(taskFor({ dataset: { name: 'mnist', samples: 100 }, model: { family: 'cnn', blocks: [], denseUnits: [4] }, training: { epochs: 1 } }));
  });

  // No dropout anywhere: with seeded data order and weights the runs are then deterministic,
  // so "the loss went down" cannot fail by chance (tfjs dropout masks are unseeded).
  it.each([
    ['cnn on mnist', { dataset: { name: 'mnist', samples: 400 }, model: { family: 'cnn', blocks: [{ filters: 4 }], denseUnits: [16], dropout: 0 } }, 'accuracy'],
    ['mlp on synthetic images', { dataset: { name: 'synthetic-images', samples: 300, height: 8, width: 8 }, model: { family: 'cnn', blocks: [], denseUnits: [16], dropout: 0 } }, 'accuracy'],
    ['lstm on adding', { dataset: { name: 'adding', samples: 300, sequenceLength: 10 }, model: { family: 'lstm', units: 8 } }, 'mse'],
    ['gru on brown', { dataset: { name: 'brown', maxTokens: 3000, vocabSize: 200, sequenceLength: 8 }, model: { family: 'gru', units: 16, embeddingDim: 8 } }, 'perplexity'],
    ['bert pretraining on brown', { dataset: { name: 'brown', maxTokens: 3000, vocabSize: 200, sequenceLength: 8 }, model: { family: 'bert', dModel: 16, heads: 2, ffDim: 16, layers: 1, dropout: 0 } }, 'perplexity'],
    ['transformer on cmudict', { dataset: { name: 'cmudict', samples: 300, maxWordLength: 6 }, model: { family: 'transformer', dModel: 16, heads: 2, ffDim: 16, encoderLayers: 1, decoderLayers: 1, dropout: 0 } }, 'phonemeErrorRate'],
    ['simple-rnn on copy', { dataset: { name: 'copy', samples: 300, sequenceLength: 3, delay: 2, symbols: 4 }, model: { family: 'simple-rnn', units: 8, embeddingDim: 8 } }, 'tokenErrorRate'],
  ])('%s trains, lowers its loss, reports every stage and leaks nothing', async (_name, spec, metric) => {
    // Layers cache a few constants on first use (per family); a two-step run settles them so
    // the leak check below sees only what a run leaves behind.
    await run(taskFor({ ...spec, training: { epochs: 1, maxSteps: 2, batchSize: 16 } }));
    const before = tf.memory().numTensors;
    const reports = await run(taskFor({ ...spec, training: { epochs: 3, batchSize: 16, learningRate: 0.01 } }));
    expect(tf.memory().numTensors).toBe(before);
    expect(reports[0]!.kind).toBe('ready');
    const epochs = only(reports, 'epoch');
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(epochs[2]!.train['loss']!).toBeLessThan(epochs[0]!.train['loss']!);
    const completed = only(reports, 'completed');
    expect(completed).toHaveLength(1);
    expect(Number.isFinite(completed[0]!.test[metric])).toBe(true);
    expect(only(reports, 'checkpoint').map((c) => c.checkpoint.kind)).toEqual(['epoch', 'epoch', 'epoch', 'final']);
  });

  it('fine-tunes a BERT classifier on spam-assassin from a masked-LM pretraining checkpoint', async () => {
    const bert = { family: 'bert', dModel: 16, heads: 2, ffDim: 16, layers: 1 };
    const pretraining = await run(taskFor({ dataset: { name: 'brown', maxTokens: 3000, vocabSize: 200, sequenceLength: 8 }, model: bert, training: { epochs: 1, batchSize: 16 } }));
    const pretrained = only(pretraining, 'checkpoint').find((c) => c.checkpoint.kind === 'final')!.checkpoint;
    const before = tf.memory().numTensors;
    const task = { ...taskFor({ dataset: { name: 'spam-assassin', sequenceLength: 16 }, model: bert, training: { epochs: 1, batchSize: 32, maxSteps: 5 } }), pretrained };
    const reports = await run(task);
    expect(tf.memory().numTensors).toBe(before);
    const completed = only(reports, 'completed')[0]!;
    expect(completed.test['accuracy']).toBeGreaterThan(0);
    const ready = only(reports, 'ready')[0]!;
    expect(ready.paramCount).toBeGreaterThan(200 * 16);
  });

  it('resumes from a checkpoint to exactly the parameters of an uninterrupted run, dropout on', async () => {
    // Dropout after the conv block and after the dense layer, masks seeded by (seed, step,
    // sample position), two micro-batches per step.
    const model = { family: 'cnn', blocks: [{ filters: 4, dropout: 0.25 }], denseUnits: [8], dropout: 0.5 };
    const spec = {
      dataset: { name: 'mnist', samples: 300 },
      model,
      training: { epochs: 2, batchSize: 32, checkpointEverySteps: 4, seed: 3, accumulationSteps: 2 },
    };
    const whole = await run(taskFor(spec));
    const checkpoints = only(whole, 'checkpoint').map((c) => c.checkpoint);
    const midway = checkpoints.find((c) => c.kind === 'periodic' && c.step === 4)!;
    expect(midway).toBeDefined();
    const before = tf.memory().numTensors;
    const resumed = await run(taskFor(spec, midway));
    expect(tf.memory().numTensors).toBe(before);
    const finalOf = (reports: RankReport[]) => only(reports, 'checkpoint').find((c) => c.checkpoint.kind === 'final')!.checkpoint;
    const weightsOf = (reports: RankReport[]) => new Float32Array(Buffer.from(finalOf(reports).model.weightDataBase64, 'base64').buffer.slice(0));
    const maxDiff = (a: Float32Array, b: Float32Array) => {
      expect(b.length).toBe(a.length);
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
      return d;
    };
    expect(maxDiff(weightsOf(whole), weightsOf(resumed))).toBeLessThan(1e-5);
    expect(finalOf(resumed).step).toBe(finalOf(whole).step);
    // The dropout was live: without it the same run ends elsewhere.
    const withoutDropout = await run(taskFor({ ...spec, model: { ...model, blocks: [{ filters: 4 }], dropout: 0 } }));
    expect(maxDiff(weightsOf(whole), weightsOf(withoutDropout))).toBeGreaterThan(1e-3);
  });
});
