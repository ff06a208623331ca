import * as tf from '@tensorflow/tfjs';
import type { DataSplit } from '../data/dataset';
import { buildModel } from '../models/build-model';
import { disposeBatch, randomBatch, tinyTaskInfo, trainSteps } from '@tfleet/testing';
import { decodeSequences } from './decode';
import { evaluateDecoding } from './seq2seq-metrics';

const info = tinyTaskInfo('seq2seq');
const transformer = {
  family: 'transformer',
  dModel: 16,
  heads: 2,
  ffDim: 16,
  dropout: 0,
  positional: 'sinusoidal',
  norm: 'pre',
  encoderLayers: 1,
  decoderLayers: 1,
} as const;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function splitOf(batch: { inputs: tf.Tensor[]; target: tf.Tensor }): DataSplit {
  return {
    size: batch.target.shape[0],
    inputs: batch.inputs.map((t) => t.dataSync() as Int32Array),
    target: batch.target.dataSync() as Int32Array,
  };
}

describe('decodeSequences', () => {
  it('greedy output is what the model predicts when fed its own output, and leaks nothing', async () => {
    const model = buildModel(transformer, info, 3);
    const batch = randomBatch(info, 5, 2);
    const sources = batch.inputs[0].dataSync() as Int32Array;
    const before = tf.memory().numTensors;
    const decoded = await decodeSequences(model, info, sources, { batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(decoded).toHaveLength(5);
    const td = info.inputSpecs[1].shape[0];
    decoded.forEach((row, i) => {
      expect(row.length).toBeLessThanOrEqual(td);
      const decoderInput = [info.startId!, ...row, ...new Array(td).fill(0)].slice(0, td);
      const argmax = tf.tidy(() => {
        const logits = model.predict([
          tf.tensor2d(sources.subarray(i * 6, i * 6 + 6), [1, 6], 'int32'),
          tf.tensor2d(decoderInput, [1, td], 'int32'),
        ]) as tf.Tensor;
        return Array.from(logits.argMax(-1).dataSync());
      });
      expect(argmax.slice(0, row.length)).toEqual(row);
      if (row.length < td) expect(argmax[row.length]).toBe(info.endId);
    });
    model.dispose();
    disposeBatch(batch);
  });

  it('a trained model decodes its training pairs (greedy and beam), scored by exact match and error rate', async () => {
    const model = buildModel(transformer, info, 5);
    const batch = randomBatch(info, 6, 21);
    const losses = trainSteps(model, info, batch, 50, 0.03);
    expect(losses[losses.length - 1]).toBeLessThan(0.3);
    const split = splitOf(batch);
    const before = tf.memory().numTensors;
    const greedy = await evaluateDecoding(model, info, split);
    const beam = await evaluateDecoding(model, info, split, { beamWidth: 3, batchSize: 7 });
    expect(tf.memory().numTensors).toBe(before);
    expect(greedy.samples).toBe(6);
    expect(greedy.exactMatch).toBeGreaterThanOrEqual(0.5);
    expect(greedy.phonemeErrorRate).toBeLessThan(0.3);
    expect(greedy.decodedTokenAccuracy).toBeGreaterThan(0.7);
    expect(beam.exactMatch).toBeGreaterThanOrEqual(0.5);
    expect(beam.phonemeErrorRate).toBeLessThan(0.3);
    model.dispose();
    disposeBatch(batch);
  });

  it('an untrained model scores badly on the same metrics', async () => {
    const model = buildModel(transformer, info, 5);
    const batch = randomBatch(info, 8, 21);
    const metrics = await evaluateDecoding(model, info, splitOf(batch), { limit: 6 });
    expect(metrics.samples).toBe(6);
    expect(metrics.exactMatch).toBeLessThan(0.5);
    expect(metrics.phonemeErrorRate).toBeGreaterThan(0.5);
    model.dispose();
    disposeBatch(batch);
  });

  it('rejects non-seq2seq tasks and bad options', async () => {
    const model = buildModel(transformer, info, 1);
    await expect(decodeSequences(model, tinyTaskInfo('language-modelling'), new Int32Array(8))).rejects.toThrow(/seq2seq/);
    await expect(decodeSequences(model, info, new Int32Array(7))).rejects.toThrow(/multiple of the encoder length/);
    await expect(decodeSequences(model, info, new Int32Array(6), { beamWidth: 0 })).rejects.toThrow(/beamWidth/);
    model.dispose();
  });
});
