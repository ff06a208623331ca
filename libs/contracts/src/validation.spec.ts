import { parseExperimentSpec } from './validation';

describe('parseExperimentSpec', () => {
  it('fills every default from the minimal spec', () => {
    const result = parseExperimentSpec({ dataset: { name: 'mnist' }, model: { family: 'cnn' } });
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.value.training).toMatchObject({ epochs: 5, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, seed: 42, backend: 'auto' });
    expect(result.value.dataset).toMatchObject({ name: 'mnist', samples: 10_000, validationFraction: 0.1, testFraction: 0.1 });
    expect(result.value.model.family).toBe('cnn');
  });

  it.each([
    [{ dataset: { name: 'mnist' }, model: { family: 'mlp' } }, 'model.family'],
    [{ dataset: { name: 'imagenet' }, model: { family: 'cnn' } }, 'dataset.name'],
    [{ dataset: { name: 'mnist' }, model: { family: 'cnn' }, training: { learningRate: -1 } }, 'training.learningRate'],
    [{ dataset: { name: 'mnist' }, model: { family: 'cnn' }, training: { learningRate: 'fast' } }, 'training.learningRate'],
    [{ dataset: { name: 'mnist' }, model: { family: 'cnn' }, training: { batchSize: 0 } }, 'training.batchSize'],
    [{ dataset: { name: 'mnist' }, model: { family: 'cnn' }, colour: 'blue' }, 'colour'],
    [{ dataset: { name: 'mnist', extra: 1 }, model: { family: 'cnn' } }, 'dataset.extra'],
    [{ dataset: { name: 'mnist' }, model: { family: 'lstm' } }, 'model.family'],
    [{ dataset: { name: 'brown' }, model: { family: 'transformer', dModel: 30, heads: 4 } }, 'model.heads'],
    [{ model: { family: 'cnn' } }, 'dataset'],
    [{ dataset: { name: 'brown' }, model: { family: 'lstm', recurrentActivation: 'relu' } }, 'model.recurrentActivation'],
  ])('rejects %j naming %s', (input, field) => {
    const result = parseExperimentSpec(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.field)).toContain(field);
  });

  it('gives LSTM and GRU gates sigmoid unless the spec asks for hardSigmoid', () => {
    const gates = (model: Record<string, unknown>): unknown => {
      const result = parseExperimentSpec({ dataset: { name: 'brown' }, model });
      if (!result.ok) throw new Error(JSON.stringify(result.issues));
      return (result.value.model as { recurrentActivation?: unknown }).recurrentActivation;
    };
    expect(gates({ family: 'lstm' })).toBe('sigmoid');
    expect(gates({ family: 'gru', recurrentActivation: 'hardSigmoid' })).toBe('hardSigmoid');
  });

  it('says which families fit a task', () => {
    const result = parseExperimentSpec({ dataset: { name: 'mnist' }, model: { family: 'gru' } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0]!.message).toContain('families that fit: cnn');
  });
});
