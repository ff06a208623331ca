import * as tf from '@tensorflow/tfjs';
import type { ExperimentSpec } from '@tfleet/contracts';
import { buildModel, countParameters, type TaskInfo } from '@tfleet/ml';
import { findSuite, SHOOTOUT_SUITES } from './presets';
import { validatedSpecs } from './runner';

/** The shapes the loaders give, without loading the data. */
function shapeOf(spec: ExperimentSpec): TaskInfo {
  const dataset = spec.dataset;
  switch (dataset.name) {
    case 'adding':
      return {
        task: 'sequence-regression',
        inputSpecs: [{ name: 'sequence', shape: [dataset.sequenceLength, 2], dtype: 'float32' }],
        targetSpec: { name: 'sum', shape: [], dtype: 'float32' },
        numClasses: 1,
      };
    case 'mnist':
      return {
        task: 'image-classification',
        inputSpecs: [{ name: 'image', shape: [28, 28, 1], dtype: 'float32' }],
        targetSpec: { name: 'label', shape: [], dtype: 'int32' },
        numClasses: 10,
      };
    // Vocabulary sizes as the loaders build them from the default splits (checked once by hand).
    case 'cmudict':
      return {
        task: 'seq2seq',
        inputSpecs: [
          { name: 'encoderTokens', shape: [dataset.maxWordLength], dtype: 'int32' },
          { name: 'decoderTokens', shape: [dataset.maxWordLength + 1], dtype: 'int32' },
        ],
        targetSpec: { name: 'target', shape: [dataset.maxWordLength + 1], dtype: 'int32' },
        numClasses: 43,
        inputVocabSize: 29,
        padId: 0,
        startId: 2,
        endId: 3,
      };
    case 'brown':
      return {
        task: 'language-modelling',
        inputSpecs: [{ name: 'tokens', shape: [dataset.sequenceLength], dtype: 'int32' }],
        targetSpec: { name: 'nextTokens', shape: [dataset.sequenceLength], dtype: 'int32' },
        numClasses: dataset.vocabSize,
        inputVocabSize: dataset.vocabSize,
        padId: 0,
      };
    default:
      throw new Error(`no shape for ${dataset.name} in this test`);
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(Object.values(SHOOTOUT_SUITES).map((s) => [s.name, s] as const))('suite %s', (_name, suite) => {
  const specs = validatedSpecs(suite);

  it('has only specs the API accepts, all on one data set', () => {
    expect(Object.keys(specs)).toEqual(suite.entries.map((e) => e.label));
    const datasets = new Set(Object.values(specs).map((s) => JSON.stringify(s.dataset)));
    expect(datasets.size).toBe(1);
  });

  it('gives every model the same data budget (the optimizer settings may be tuned per family)', () => {
    const budgets = new Set(
      Object.values(specs).map(({ training: { learningRate: _lr, clipNorm: _clip, ...budget } }) => JSON.stringify(budget)),
    );
    expect(budgets.size).toBe(1);
  });

  it('names only its own rows in its claims', () => {
    const labels = new Set(suite.entries.map((e) => e.label));
    for (const claim of suite.claims) {
      for (const check of claim.checks) {
        const named = check.kind === 'beats' ? [check.row, ...check.others] : [check.row];
        for (const label of named) expect(labels.has(label)).toBe(true);
      }
    }
  });

  it('builds models whose parameter counts are within 10% of each other', () => {
    const counts = Object.values(specs).map((spec) => {
      const model = buildModel(spec.model, shapeOf(spec), 1);
      const count = countParameters(model);
      model.dispose();
      return count;
    });
    expect(Math.max(...counts) / Math.min(...counts)).toBeLessThan(1.1);
  });
});

describe('findSuite', () => {
  it('names the suites there are when asked for an unknown one', () => {
    expect(findSuite('mnist').name).toBe('mnist');
    expect(() => findSuite('nope')).toThrow(/unknown suite 'nope'; suites: adding-100, sequence-speed, mnist, cmudict, brown/);
  });
});
