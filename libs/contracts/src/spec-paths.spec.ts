import type { ExperimentSpecInput } from './experiment-spec';
import { configKeyOf, flattenSpec, specDifferences } from './spec-paths';

const lstm = (training: Record<string, unknown> = {}, model: Record<string, unknown> = {}, name?: string): ExperimentSpecInput =>
  ({ ...(name === undefined ? {} : { name }), dataset: { name: 'brown' }, model: { family: 'lstm', ...model }, training }) as ExperimentSpecInput;

describe('configKeyOf', () => {
  it('is shared by runs that differ only in the seed or the name', () => {
    const key = configKeyOf(lstm());
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(configKeyOf(lstm({ seed: 1 }))).toBe(key);
    expect(configKeyOf(lstm({ seed: 2 }, {}, 'second try'))).toBe(key);
    expect(configKeyOf(lstm({ seed: 3, priority: 5 }))).toBe(key);
    expect(configKeyOf(lstm({ maxRestarts: 0, keepCheckpoints: { latest: 5, best: 1, metric: 'perplexity' } }))).toBe(key);
  });

  it('fills defaults in first: omitted and explicit defaults are one configuration', () => {
    expect(configKeyOf(lstm({ epochs: 5, learningRate: 0.001, optimizer: 'adam' }, { units: 128, layers: 1 }))).toBe(configKeyOf(lstm()));
  });

  it.each([
    ['training.learningRate', lstm({ learningRate: 0.01 })],
    ['training.epochs', lstm({ epochs: 6 })],
    ['training.ranks', lstm({ ranks: 2 })],
    ['model.units', lstm({}, { units: 64 })],
    ['model.family', { dataset: { name: 'brown' }, model: { family: 'gru' } } as ExperimentSpecInput],
    ['dataset.level', { dataset: { name: 'brown', level: 'char' }, model: { family: 'lstm' } } as ExperimentSpecInput],
  ])('changes with %s', (_path, other) => {
    expect(configKeyOf(other)).not.toBe(configKeyOf(lstm()));
  });

  it('throws on a spec that is not valid', () => {
    expect(() => configKeyOf({ dataset: { name: 'brown' }, model: { family: 'lstm', units: -1 } } as ExperimentSpecInput)).toThrow(/model\.units/);
  });
});

describe('flattenSpec', () => {
  it('flattens to dotted paths with defaults filled in, arrays numbered', () => {
    const flat = flattenSpec({ dataset: { name: 'mnist' }, model: { family: 'cnn', denseUnits: [] } });
    expect(flat['dataset.samples']).toBe(10_000);
    expect(flat['model.blocks.0.filters']).toBe(32);
    expect(flat['model.blocks.1.filters']).toBe(64);
    expect(flat['model.denseUnits']).toEqual([]);
    expect(flat['training.seed']).toBe(42);
    expect('training.ranks' in flat).toBe(false);
    expect('name' in flat).toBe(false);
    expect(Object.values(flat).every((v) => v === null || typeof v !== 'object' || (Array.isArray(v) && v.length === 0))).toBe(true);
  });
});

describe('specDifferences', () => {
  it('lists exactly the paths that differ, defaults filled in, and the rest as same', () => {
    const result = specDifferences([lstm({ seed: 1 }), lstm({ seed: 2, learningRate: 0.001 }), lstm({ seed: 3 }, { units: 128 })]);
    expect(result.differences).toEqual(['training.seed']);
    expect(result.same['training.learningRate']).toBe(0.001);
    expect(result.same['model.units']).toBe(128);
    expect(result.same['dataset.name']).toBe('brown');
    expect('training.seed' in result.same).toBe(false);
    expect(result.flattened.map((f) => f['training.seed'])).toEqual([1, 2, 3]);
  });

  it('counts a path that only some specs have as a difference', () => {
    const result = specDifferences([lstm(), lstm({ ranks: 4 }, {}, 'four ranks'), { dataset: { name: 'brown' }, model: { family: 'transformer' } } as ExperimentSpecInput]);
    expect(result.differences).toEqual(
      expect.arrayContaining(['name', 'training.ranks', 'model.family', 'model.units', 'model.dModel', 'model.heads', 'model.recurrentActivation']),
    );
    // dropout exists in both families but with other defaults (0 vs 0.1); embeddingDim only in lstm
    expect(result.differences).toEqual(expect.arrayContaining(['model.dropout', 'model.embeddingDim']));
    expect(result.differences).not.toContain('training.learningRate');
    expect(result.differences).not.toContain('dataset.name');
    expect(Object.keys(result.same)).toEqual(expect.arrayContaining(['dataset.name', 'training.epochs', 'training.seed']));
    expect(result.differences.filter((p) => p in result.same)).toEqual([]);
  });

  it('compares array items by position', () => {
    const cnn = (blocks: Record<string, unknown>[]): ExperimentSpecInput => ({ dataset: { name: 'mnist' }, model: { family: 'cnn', blocks } }) as ExperimentSpecInput;
    const result = specDifferences([cnn([{ filters: 8 }, { filters: 16 }]), cnn([{ filters: 8 }, { filters: 32 }]), cnn([{ filters: 8 }])]);
    expect(result.differences.filter((p) => p.startsWith('model.blocks'))).toEqual(
      ['model.blocks.1.activation', 'model.blocks.1.batchNorm', 'model.blocks.1.dropout', 'model.blocks.1.filters', 'model.blocks.1.kernelSize', 'model.blocks.1.padding', 'model.blocks.1.pool', 'model.blocks.1.poolSize', 'model.blocks.1.strides'],
    );
    expect(result.same['model.blocks.0.filters']).toBe(8);
  });

  it('finds nothing different in one spec or none', () => {
    expect(specDifferences([lstm()]).differences).toEqual([]);
    expect(specDifferences([])).toEqual({ differences: [], same: {}, flattened: [] });
  });
});
