import * as tf from '@tensorflow/tfjs';
import type { TaskKind } from '@tfleet/contracts';
import { buildModel, countParameters } from './build-model';
import type { RecurrentSpec } from './rnn';
import { disposeBatch, expectedOutputShape, maxOutputDifference, randomBatch, saveAndLoad, tinyTaskInfo, trainSteps } from '@tfleet/testing';

const FAMILIES = ['simple-rnn', 'lstm', 'gru'] as const;

function tinySpec(family: RecurrentSpec['family'], overrides: Partial<Omit<RecurrentSpec, 'family'>> = {}): RecurrentSpec {
  return { family, embeddingDim: 6, units: 8, layers: 1, bidirectional: false, dropout: 0, attention: true, recurrentActivation: 'sigmoid', ...overrides };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const cases: Array<[RecurrentSpec['family'], TaskKind, Partial<Omit<RecurrentSpec, 'family'>>]> = [];
for (const family of FAMILIES) {
  cases.push([family, 'sequence-classification', { bidirectional: true }]);
  cases.push([family, 'sequence-regression', { layers: 2, dropout: 0.1 }]);
  cases.push([family, 'language-modelling', { layers: 2 }]);
  cases.push([family, 'seq2seq', { bidirectional: family === 'lstm', layers: family === 'gru' ? 2 : 1 }]);
}
cases.push(['lstm', 'seq2seq', { attention: false }]);
cases.push(['gru', 'sequence-classification', { layers: 2 }]);

describe.each(cases)('%s on %s %j', (family, task, overrides) => {
  it('builds the right output shape, trains, round-trips through save/load and leaks nothing', async () => {
    const info = tinyTaskInfo(task);
    const model = buildModel(tinySpec(family, overrides), info, 7);
    const batch = randomBatch(info, 4, 11);
    const before = tf.memory().numTensors;

    const shape = tf.tidy(() => (model.predict(batch.inputs) as tf.Tensor).shape);
    expect(shape).toEqual(expectedOutputShape(tinyTaskInfo(task), 4));

    const losses = trainSteps(model, info, batch, 8, 0.02);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.95);

    const loaded = await saveAndLoad(model);
    expect(maxOutputDifference(model, loaded, batch.inputs)).toBeLessThan(1e-5);
    loaded.dispose();

    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    disposeBatch(batch);
  });
});

describe('recurrent models', () => {
  it('build the same weights for the same seed and different ones for another', () => {
    const info = tinyTaskInfo('seq2seq');
    const spec = tinySpec('lstm', { bidirectional: true });
    const [a, b, c] = [buildModel(spec, info, 3), buildModel(spec, info, 3), buildModel(spec, info, 4)];
    const wa = a.getWeights();
    const wb = b.getWeights();
    const wc = c.getWeights();
    expect(wa.length).toBe(wb.length);
    const diff = (x: tf.Tensor[], y: tf.Tensor[]) => tf.tidy(() => Math.max(...x.map((t, i) => t.sub(y[i]).abs().max().dataSync()[0])));
    expect(diff(wa, wb)).toBe(0);
    expect(diff(wa, wc)).toBeGreaterThan(0);
    expect(countParameters(a)).toBe(countParameters(c));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('language models are causal: changing a later token leaves earlier outputs unchanged', () => {
    const info = tinyTaskInfo('language-modelling');
    const model = buildModel(tinySpec('gru', { layers: 2 }), info, 5);
    const [x1, x2] = [
      [[3, 4, 5, 6, 7, 8, 9, 10]],
      [[3, 4, 5, 6, 11, 12, 13, 14]],
    ];
    const gap = tf.tidy(() => {
      const y1 = model.predict(tf.tensor2d(x1, undefined, 'int32')) as tf.Tensor;
      const y2 = model.predict(tf.tensor2d(x2, undefined, 'int32')) as tf.Tensor;
      const d = y1.sub(y2).abs().max(2).dataSync();
      return Array.from(d);
    });
    expect(Math.max(...gap.slice(0, 4))).toBeLessThan(1e-6);
    expect(Math.min(...gap.slice(4))).toBeGreaterThan(1e-6);
    model.dispose();
  });

  it.each(['sequence-classification', 'language-modelling', 'seq2seq'] as const)('simple-rnn on %s runs on the fused SimpleRNN kernels', async (task) => {
    const info = tinyTaskInfo(task);
    const model = buildModel(tinySpec('simple-rnn', { bidirectional: task === 'sequence-classification' }), info, 2);
    const batch = randomBatch(info, 2, 3);
    const profile = await tf.profile(() => tf.dispose(model.predict(batch.inputs) as tf.Tensor));
    const names = new Set(profile.kernels.map((k) => k.name));
    expect(names.has('TfleetSimpleRnnSequence')).toBe(true);
    expect(model.layers.map((l) => l.getClassName())).not.toContain('SimpleRNN');
    model.dispose();
    disposeBatch(batch);
  });

  it('a stacked seq2seq decoder runs in training mode with one reused kwargs object, leaving it unchanged', () => {
    const info = tinyTaskInfo('seq2seq');
    const model = buildModel(tinySpec('gru', { layers: 2 }), info, 5);
    const batch = randomBatch(info, 2, 3);
    const kwargs = { training: true };
    const shapes = tf.tidy(() => [0, 1].map(() => (model.apply(batch.inputs, kwargs) as tf.Tensor).shape));
    expect(shapes).toEqual([[2, 7, 9], [2, 7, 9]]);
    expect(kwargs).toEqual({ training: true });
    model.dispose();
    disposeBatch(batch);
  });

  it.each(['lstm', 'gru'] as const)('%s gates use the spec\'s recurrentActivation, sigmoid by default, and keep it through save/load', async (family) => {
    const info = tinyTaskInfo('language-modelling');
    const gates = (model: tf.LayersModel): string[] =>
      model.layers.flatMap((layer) => {
        const config = layer.getConfig();
        return typeof config['recurrentActivation'] === 'string' ? [config['recurrentActivation']] : [];
      });
    const sigmoid = buildModel(tinySpec(family, { layers: 2 }), info, 1);
    const hard = buildModel(tinySpec(family, { layers: 2, recurrentActivation: 'hardSigmoid' }), info, 1);
    expect(gates(sigmoid)).toEqual(['sigmoid', 'sigmoid']);
    expect(gates(hard)).toEqual(['hardSigmoid', 'hardSigmoid']);
    // Same weights, different gates: different outputs.
    const ids = tf.tensor2d([[3, 1, 4, 1, 5, 2, 6, 5]], undefined, 'int32');
    const difference = tf.tidy(() => tf.sub(sigmoid.predict(ids) as tf.Tensor, hard.predict(ids) as tf.Tensor).abs().max().dataSync()[0]!);
    expect(difference).toBeGreaterThan(1e-6);
    const loaded = await saveAndLoad(hard);
    expect(gates(loaded)).toEqual(['hardSigmoid', 'hardSigmoid']);
    tf.dispose([ids]);
    for (const m of [sigmoid, hard, loaded]) m.dispose();
  });

  it('rejects a bidirectional language model and a bad width with the field named', () => {
    expect(() => buildModel(tinySpec('lstm', { bidirectional: true }), tinyTaskInfo('language-modelling'), 1)).toThrow(/model.bidirectional/);
    expect(() => buildModel(tinySpec('lstm', { units: 0 }), tinyTaskInfo('sequence-classification'), 1)).toThrow(/model.units/);
  });

  it('ignores padding in token classification: padded output equals the unpadded sequence output', () => {
    const padded = tinyTaskInfo('sequence-classification');
    const short = { ...padded, inputSpecs: [{ ...padded.inputSpecs[0], shape: [3] }] };
    // Same seed, and no weight depends on the sequence length, so the two models share weights.
    const a = buildModel(tinySpec('lstm', { bidirectional: true }), padded, 9);
    const b = buildModel(tinySpec('lstm', { bidirectional: true }), short, 9);
    const [same, other] = tf.tidy(() => {
      const ya = a.predict(tf.tensor2d([[5, 6, 7, 0, 0, 0, 0, 0, 0, 0]], undefined, 'int32')) as tf.Tensor;
      const yb = b.predict(tf.tensor2d([[5, 6, 7]], undefined, 'int32')) as tf.Tensor;
      const yc = b.predict(tf.tensor2d([[5, 6, 8]], undefined, 'int32')) as tf.Tensor;
      return [ya.sub(yb).abs().max().dataSync()[0], ya.sub(yc).abs().max().dataSync()[0]];
    });
    expect(same).toBeLessThan(1e-5);
    expect(other).toBeGreaterThan(1e-5);
    a.dispose();
    b.dispose();
  });
});
