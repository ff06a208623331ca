import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../data/rng';
import { buildBertClassifierFrom, maskedLanguageModelBatch, type BertSpec } from './bert';
import { buildModel } from './build-model';
import { expectedOutputShape, saveAndLoad, standardChecks, tinyTaskInfo } from '@tfleet/testing';

function tinySpec(overrides: Partial<Omit<BertSpec, 'family'>> = {}): BertSpec {
  return { family: 'bert', dModel: 8, heads: 2, ffDim: 16, dropout: 0, positional: 'learned', norm: 'post', layers: 1, maskRate: 0.15, ...overrides };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('bert', () => {
  it.each([
    ['language-modelling', {}],
    ['sequence-classification', {}],
    ['sequence-classification', { norm: 'pre', positional: 'sinusoidal', layers: 2, dropout: 0.1 }],
  ] as const)('on %s %j: right shape, trains, round-trips, no leaks', async (task, overrides) => {
    const info = tinyTaskInfo(task);
    const model = buildModel(tinySpec(overrides), info, 5);
    // tfjs dropout draws unseeded masks, so the dropout case gets more steps: 8 noisy steps
    // sometimes fell short of the 5% drop.
    const result = await standardChecks(model, info, 'dropout' in overrides ? 24 : 8);
    expect(result.outputShape).toEqual(expectedOutputShape(info, 4));
    expect(result.losses[result.losses.length - 1]).toBeLessThan(result.losses[0] * 0.95);
    expect(result.roundTripDifference).toBeLessThan(1e-5);
    expect(result.leakedTensors).toBe(0);
    model.dispose();
  });

  it('pretrains with masked batches, then fine-tunes a classifier on longer sequences from the loaded checkpoint', async () => {
    const lm = tinyTaskInfo('language-modelling');
    const pretrained = buildModel(tinySpec(), lm, 3);
    // Pretraining batch: corrupted input, original tokens only at chosen positions.
    const tokens = Int32Array.from({ length: 4 * 8 }, (_, i) => 1 + (i % 15));
    const masked = maskedLanguageModelBatch(tokens, lm, 0.3, new SeededRandom(1));
    const chosen = masked.target.filter((id) => id !== lm.padId).length;
    expect(chosen).toBeGreaterThan(0);
    expect(Array.from(masked.inputs).filter((id) => id === lm.maskId).length).toBeGreaterThan(0);
    masked.target.forEach((id, i) => expect(id === lm.padId || id === tokens[i]).toBe(true));

    const checkpoint = await saveAndLoad(pretrained);
    const classification = tinyTaskInfo('sequence-classification'); // 10 tokens, pretraining had 8
    const classifier = buildBertClassifierFrom(checkpoint, { ...classification, inputVocabSize: 16 }, 9);
    const ids = tf.tensor2d([[3, 4, 5, 0, 0, 0, 0, 0, 0, 0]], undefined, 'int32');
    // The classifier computes on the pretrained encoder's weights.
    const encoderGap = tf.tidy(() => {
      const probe = (m: tf.LayersModel) => tf.model({ inputs: m.inputs, outputs: m.getLayer('bert_encoder_output').output });
      const a = probe(pretrained).predict(ids) as tf.Tensor;
      const b = probe(classifier).predict(ids) as tf.Tensor;
      return a.sub(b).abs().max().dataSync()[0];
    });
    expect(encoderGap).toBeLessThan(1e-5);
    const result = await standardChecks(classifier, { ...classification, inputVocabSize: 16 });
    expect(result.outputShape).toEqual([4, classification.numClasses]);
    expect(result.losses[result.losses.length - 1]).toBeLessThan(result.losses[0]);
    expect(result.roundTripDifference).toBeLessThan(1e-5);
    expect(result.leakedTensors).toBe(0);
    ids.dispose();
    classifier.dispose();
    pretrained.dispose();
  });

  it('refuses to fine-tune from a checkpoint that is not BERT or has a smaller vocabulary', () => {
    const classification = tinyTaskInfo('sequence-classification');
    const notBert = buildModel({ family: 'gru', embeddingDim: 4, units: 4, layers: 1, bidirectional: false, dropout: 0, attention: true, recurrentActivation: 'sigmoid' }, classification, 1);
    expect(() => buildBertClassifierFrom(notBert, classification, 1)).toThrow(/not a BERT model/);
    const pretrained = buildModel(tinySpec(), tinyTaskInfo('language-modelling'), 1);
    expect(() => buildBertClassifierFrom(pretrained, { ...classification, inputVocabSize: 500 }, 1)).toThrow(/pretraining vocabulary/);
    notBert.dispose();
    pretrained.dispose();
  });
});
