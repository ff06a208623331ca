import * as tf from '@tensorflow/tfjs';
import type { TaskKind } from '@tfleet/contracts';
import { buildModel } from './build-model';
import type { CnnSpec } from './cnn';
import { expectedOutputShape, standardChecks, tinyTaskInfo } from '@tfleet/testing';

const block = { filters: 4, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu', pool: 'max', poolSize: 2, batchNorm: false, dropout: 0 } as const;

function tinySpec(overrides: Partial<Omit<CnnSpec, 'family'>> = {}): CnnSpec {
  return { family: 'cnn', blocks: [block, { ...block, filters: 6 }], denseUnits: [8], dropout: 0, embeddingDim: 6, ...overrides };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const cases: Array<[TaskKind, Partial<Omit<CnnSpec, 'family'>>]> = [
  ['image-classification', {}],
  ['image-classification', { blocks: [], denseUnits: [16] }],
  ['image-classification', { blocks: [{ ...block, batchNorm: true, pool: 'avg', padding: 'same', dropout: 0.1 }], dropout: 0.2 }],
  ['sequence-classification', {}],
  ['sequence-regression', { blocks: [{ ...block, activation: 'tanh' }] }],
];

describe.each(cases)('cnn on %s %j', (task, overrides) => {
  it('builds the right output shape, trains, round-trips through save/load and leaks nothing', async () => {
    const info = tinyTaskInfo(task);
    const model = buildModel(tinySpec(overrides), info, 7);
    const result = await standardChecks(model, info);
    expect(result.outputShape).toEqual(expectedOutputShape(info, 4));
    expect(result.losses[result.losses.length - 1]).toBeLessThan(result.losses[0] * 0.95);
    expect(result.roundTripDifference).toBeLessThan(1e-5);
    expect(result.leakedTensors).toBe(0);
    model.dispose();
  });
});

describe('cnn', () => {
  it('does not fit language modelling or seq2seq, naming the families that do', () => {
    expect(() => buildModel(tinySpec(), tinyTaskInfo('language-modelling'), 1)).toThrow(/families that fit: simple-rnn, lstm, gru, transformer, bert/);
    expect(() => buildModel(tinySpec(), tinyTaskInfo('seq2seq'), 1)).toThrow(/families that fit/);
  });
});
