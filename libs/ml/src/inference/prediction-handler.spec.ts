import * as tf from '@tensorflow/tfjs';
import { randomUUID } from 'node:crypto';
import { type CheckpointPayload, type ExperimentSpec, parseExperimentSpec, type PredictInput, type PredictReply, type RankReport } from '@tfleet/contracts';
import { SoloCollective } from '@tfleet/parallel';
import { initBackend } from '../backend/backend';
import { deserializeModel } from '../training/checkpoint';
import { runTrainingRank } from '../training/run-rank';
import { PredictionHandler } from './prediction-handler';

function specOf(input: unknown): ExperimentSpec {
  const parsed = parseExperimentSpec(input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

/** A few real training steps, for a final checkpoint with the task's artefacts in its state. */
async function trainedCheckpoint(spec: ExperimentSpec, pretrained?: CheckpointPayload): Promise<CheckpointPayload> {
  const reports: RankReport[] = [];
  const task = { experimentId: randomUUID(), attempt: 1, spec, rank: 0, worldSize: 1, backend: 'wasm' as const, ...(pretrained ? { pretrained } : {}) };
  await runTrainingRank(task, new SoloCollective(), (r) => reports.push(r));
  const final = reports.flatMap((r) => (r.kind === 'checkpoint' && r.checkpoint.kind === 'final' ? [r.checkpoint] : []));
  if (final.length !== 1) throw new Error('the run saved no final checkpoint');
  return final[0]!;
}

const ok = (reply: PredictReply) => {
  if (reply.status !== 'ok') throw new Error(`expected a prediction, got ${JSON.stringify(reply)}`);
  return reply;
};

const training = { epochs: 1, maxSteps: 3, batchSize: 32 };
const image = (rows: number, cols: number) => Array.from({ length: rows }, (_, y) => Array.from({ length: cols }, (_, x) => ((x * 7 + y * 3) % 10) / 10));
const addingSequence = (steps: number) => Array.from({ length: steps }, (_, t) => [((t * 37) % 100) / 100, t === 1 || t === steps - 2 ? 1 : 0]);

const FINE_TUNED = 'bert fine-tuned on spam-assassin';

const CASES: { name: string; spec: unknown; input: PredictInput; kind: string }[] = [
  { name: 'cnn on mnist', spec: { dataset: { name: 'mnist', samples: 200 }, model: { family: 'cnn', blocks: [{ filters: 4, dropout: 0.1 }], denseUnits: [8] } }, input: { kind: 'image', image: image(28, 28) }, kind: 'classes' },
  { name: 'lstm on adding', spec: { dataset: { name: 'adding', samples: 200, sequenceLength: 10 }, model: { family: 'lstm', units: 8 } }, input: { kind: 'sequence', sequence: addingSequence(10) }, kind: 'value' },
  { name: 'gru on brown', spec: { dataset: { name: 'brown', maxTokens: 3000, vocabSize: 200, sequenceLength: 8 }, model: { family: 'gru', units: 16, embeddingDim: 8 } }, input: { kind: 'prompt', prompt: 'The jury said that the', count: 3 }, kind: 'continuation' },
  { name: 'bert on brown', spec: { dataset: { name: 'brown', maxTokens: 3000, vocabSize: 200, sequenceLength: 8 }, model: { family: 'bert', dModel: 16, heads: 2, ffDim: 16, layers: 1 } }, input: { kind: 'prompt', prompt: 'the jury said', count: 2 }, kind: 'continuation' },
  { name: 'transformer on cmudict', spec: { dataset: { name: 'cmudict', samples: 300, maxWordLength: 6 }, model: { family: 'transformer', dModel: 16, heads: 2, ffDim: 16, encoderLayers: 1, decoderLayers: 1 } }, input: { kind: 'word', word: 'Cat' }, kind: 'sequence' },
  { name: FINE_TUNED, spec: { dataset: { name: 'spam-assassin', sequenceLength: 8 }, model: { family: 'bert', dModel: 16, heads: 2, ffDim: 16, layers: 1, pretrainedFrom: randomUUID() } }, input: { kind: 'text', text: 'Click here for free money', subject: 'Offer' }, kind: 'classes' },
  { name: 'lstm encoder-decoder on copy', spec: { dataset: { name: 'copy', samples: 200, sequenceLength: 3, delay: 2, symbols: 4 }, model: { family: 'lstm', units: 8, embeddingDim: 8 } }, input: { kind: 'tokens', tokens: [0, 3, 1] }, kind: 'sequence' },
];

describe('PredictionHandler (the prediction thread body; wasm backend, tiny trained models)', () => {
  const checkpoints = new Map<string, { spec: ExperimentSpec; checkpoint: CheckpointPayload }>();

  beforeAll(async () => {
    await initBackend('wasm');
    for (const c of CASES) {
      if (c.name === FINE_TUNED) continue;
      const spec = specOf({ ...(c.spec as object), training });
      checkpoints.set(c.name, { spec, checkpoint: await trainedCheckpoint(spec) });
    }
    // Fine-tuned from the BERT pretrained on brown: its shape comes from that checkpoint.
    const fineTuned = specOf({ ...(CASES.find((c) => c.name === FINE_TUNED)!.spec as object), training });
    checkpoints.set(FINE_TUNED, { spec: fineTuned, checkpoint: await trainedCheckpoint(fineTuned, checkpoints.get('bert on brown')!.checkpoint) });
  }, 240_000);

  it.each(CASES)('$name: asks for the model once, then answers from its cache and leaks no tensors', async ({ name, input, kind }) => {
    const { spec, checkpoint } = checkpoints.get(name)!;
    const handler = new PredictionHandler(64 * 1024 * 1024);
    const before = tf.memory().numTensors;
    const request = { modelKey: name, spec, input };
    expect(await handler.handle(request)).toEqual({ status: 'needs-model' });
    const first = ok(await handler.handle({ ...request, checkpoint }));
    expect(first.prediction.kind).toBe(kind);
    expect(first.modelLoadMs).toBeGreaterThan(0);
    const loaded = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const again = ok(await handler.handle(request));
      expect(again.modelLoadMs).toBeNull();
      expect(again.prediction).toEqual(first.prediction);
    }
    expect(tf.memory().numTensors).toBe(loaded);
    handler.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an image gives probabilities over the 10 digits that match the trained model', async () => {
    const { spec, checkpoint } = checkpoints.get('cnn on mnist')!;
    const handler = new PredictionHandler(64 * 1024 * 1024);
    const pixels = image(28, 28);
    const reply = ok(await handler.handle({ modelKey: 'm', spec, input: { kind: 'image', image: pixels }, checkpoint }));
    handler.dispose();
    if (reply.prediction.kind !== 'classes') throw new Error('not classes');
    const model = await deserializeModel(checkpoint.model);
    const expected = tf.tidy(() => tf.softmax(model.predict(tf.tensor4d(pixels.flat(), [1, 28, 28, 1])) as tf.Tensor2D).dataSync());
    model.dispose();
    expect(reply.prediction.probabilities.map((p) => p.label).sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    for (const { label, probability } of reply.prediction.probabilities) expect(probability).toBeCloseTo(expected[Number(label)]!, 6);
    expect(reply.prediction.label).toBe(String(expected.indexOf(Math.max(...expected))));
  });

  it('a sequence gives the value the trained model computes', async () => {
    const { spec, checkpoint } = checkpoints.get('lstm on adding')!;
    const handler = new PredictionHandler(64 * 1024 * 1024);
    const sequence = addingSequence(10);
    const reply = ok(await handler.handle({ modelKey: 'a', spec, input: { kind: 'sequence', sequence }, checkpoint }));
    handler.dispose();
    const model = await deserializeModel(checkpoint.model);
    const expected = tf.tidy(() => (model.predict(tf.tensor3d(sequence.flat(), [1, 10, 2])) as tf.Tensor).dataSync()[0]!);
    model.dispose();
    expect(reply.prediction).toEqual({ kind: 'value', value: expect.closeTo(expected, 5) });
  });

  it.each([
    ['cnn on mnist', '27 rows', { kind: 'image', image: image(27, 28) }, 'image', 'expected 28 rows of 28 numbers'],
    ['cnn on mnist', 'a short row', { kind: 'image', image: [...image(27, 28), [0.5]] }, 'image.27', 'row 27 has 1'],
    ['lstm on adding', '9 steps', { kind: 'sequence', sequence: addingSequence(9) }, 'sequence', 'expected 10 steps of 2 numbers'],
    ['transformer on cmudict', 'a 7-letter word', { kind: 'word', word: 'abcdefg' }, 'word', 'at most 6 letters'],
    ['lstm encoder-decoder on copy', 'a symbol out of range', { kind: 'tokens', tokens: [0, 4, 1] }, 'tokens', 'expected 3 symbols, each an integer in [0, 4)'],
    ['lstm on adding', 'a word', { kind: 'word', word: 'cat' }, 'word', "takes a 'sequence' input"],
  ] as const)('%s given %s: answered invalid, naming the field and what was expected', async (name, _what, input, field, message) => {
    const { spec, checkpoint } = checkpoints.get(name)!;
    const handler = new PredictionHandler(64 * 1024 * 1024);
    const reply = await handler.handle({ modelKey: name, spec, input, checkpoint });
    handler.dispose();
    expect(reply).toEqual({ status: 'invalid', field, message: expect.stringContaining(message) });
  });

  it('keeps models within its byte bound, least recently used freed first', async () => {
    const a = checkpoints.get('lstm on adding')!;
    const b = checkpoints.get('cnn on mnist')!;
    const probe = new PredictionHandler(1024 * 1024 * 1024);
    ok(await probe.handle({ modelKey: 'a', spec: a.spec, input: { kind: 'sequence', sequence: addingSequence(10) }, checkpoint: a.checkpoint }));
    const sizeA = probe.cache.bytes;
    probe.dispose();

    const before = tf.memory().numTensors;
    const handler = new PredictionHandler(sizeA + 1);
    ok(await handler.handle({ modelKey: 'a', spec: a.spec, input: { kind: 'sequence', sequence: addingSequence(10) }, checkpoint: a.checkpoint }));
    expect(handler.cache.keys()).toEqual(['a']);
    ok(await handler.handle({ modelKey: 'b', spec: b.spec, input: { kind: 'image', image: image(28, 28) }, checkpoint: b.checkpoint }));
    expect(handler.cache.keys()).toEqual(['b']);
    expect(await handler.handle({ modelKey: 'a', spec: a.spec, input: { kind: 'sequence', sequence: addingSequence(10) } })).toEqual({ status: 'needs-model' });
    handler.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a request that is not a prediction request', async () => {
    const handler = new PredictionHandler(1024);
    await expect(handler.handle({ modelKey: 'x', input: { kind: 'image' } })).rejects.toThrow('invalid prediction request');
  });
});
