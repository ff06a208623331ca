import { compileFilterText } from './compiler';
import { FilterError } from './errors';
import { specFieldCatalogue, tfleetFieldResolver } from './tfleet-fields';

const compile = (text: string, dialect: 'sqlite' | 'postgres' = 'sqlite', options: Parameters<typeof tfleetFieldResolver>[0] = {}) =>
  compileFilterText(text, { dialect, fields: tfleetFieldResolver(options) });

function filterError(run: () => unknown): FilterError {
  try {
    run();
  } catch (error) {
    if (error instanceof FilterError) return error;
    throw error;
  }
  throw new Error('compiled');
}

describe('specFieldCatalogue', () => {
  const catalogue = specFieldCatalogue();

  it('has the scalar options of every family, data set and training, typed', () => {
    expect(catalogue.get('model.units')).toEqual({ type: 'number' });
    expect(catalogue.get('model.dModel')).toEqual({ type: 'number' });
    expect(catalogue.get('model.bidirectional')).toEqual({ type: 'boolean' });
    expect(catalogue.get('model.family')).toEqual({ type: 'string', values: ['cnn', 'simple-rnn', 'lstm', 'gru', 'transformer', 'bert'] });
    expect(catalogue.get('model.positional')).toEqual({ type: 'string', values: ['sinusoidal', 'learned'] });
    expect(catalogue.get('model.pretrainedFrom')).toEqual({ type: 'string' });
    expect(catalogue.get('dataset.level')).toEqual({ type: 'string', values: ['word', 'char'] });
    expect(catalogue.get('dataset.samples')).toEqual({ type: 'number' });
    expect(catalogue.get('training.learningRate')).toEqual({ type: 'number' });
    expect(catalogue.get('training.ranks')).toEqual({ type: 'number' });
    expect(catalogue.get('training.optimizer')).toEqual({ type: 'string', values: ['adam', 'sgd', 'momentum', 'rmsprop'] });
    expect(catalogue.get('name')).toEqual({ type: 'string' });
  });

  it('leaves out lists and anything the schema does not have', () => {
    for (const path of ['model.blocks', 'model.denseUnits', 'model', 'training', 'dataset.colour', 'training.seeds']) expect(catalogue.has(path)).toBe(false);
  });
});

describe('tfleetFieldResolver', () => {
  it('reads spec paths from the JSON spec column, and the indexed columns where there are some', () => {
    expect(compile("model.family IN ('lstm','gru') AND training.learningRate < 0.01")).toEqual({
      sql: `(e."modelFamily" IN (?, ?) AND json_extract(e."spec", '$.training.learningRate') < ?)`,
      params: ['lstm', 'gru', 0.01],
    });
    expect(compile("model.family IN ('lstm','gru') AND training.learningRate < 0.01", 'postgres')).toEqual({
      sql: `(e."modelFamily" IN ($1, $2) AND ((e."spec"::jsonb #>> '{training,learningRate}')::double precision) < $3)`,
      params: ['lstm', 'gru', 0.01],
    });
    expect(compile("dataset.name = 'brown' AND name = 'x'").sql).toBe(`(e."datasetName" = ? AND e."name" = ?)`);
    expect(compile('model.bidirectional = true', 'postgres')).toEqual({ sql: `((e."spec"::jsonb #>> '{model,bidirectional}')::boolean) = $1`, params: [true] });
    expect(compile("dataset.level = 'char'", 'postgres').sql).toBe(`(e."spec"::jsonb #>> '{dataset,level}') = $1`);
  });

  it('reads final test metrics through a correlated subquery with the name as a parameter', () => {
    expect(compile('metrics.accuracy >= 0.9')).toEqual({
      sql: `(SELECT fm."value" FROM "experiment_metrics" fm WHERE fm."experimentId" = e."id" AND fm."split" = 'test' AND fm."epoch" = 0 AND fm."name" = ?) >= ?`,
      params: ['accuracy', 0.9],
    });
    expect(compile('metrics.perplexity < 100', 'postgres').params).toEqual(['perplexity', 100]);
  });

  it('reads run facts from their columns', () => {
    expect(compile("status = 'completed' AND backend != 'wasm' AND ranks >= 2 AND createdAt > '2026-12-01'")).toEqual({
      sql: `(e."status" = ? AND NOT COALESCE(e."backend" = ?, FALSE) AND json_extract(e."runtime", '$.ranks') >= ? AND strftime('%Y-%m-%d %H:%M:%f', e."createdAt") > ?)`,
      params: ['completed', 'wasm', 2, '2026-12-01 00:00:00.000'],
    });
    expect(compile("ranks >= 2 AND createdAt > '2026-12-01'", 'postgres').sql).toBe(`(((e."runtime"::jsonb ->> 'ranks')::double precision) >= $1 AND e."createdAt" > $2)`);
  });

  it('offers sweepId only when asked to, and takes another alias', () => {
    expect(filterError(() => compile("sweepId = 'abc'"))).toMatchObject({ kind: 'field', position: 0 });
    expect(compile("sweepId = 'abc' OR sweepId = null", 'sqlite', { sweepId: true, alias: 'x' })).toEqual({ sql: '(x."sweepId" = ? OR x."sweepId" IS NULL)', params: ['abc'] });
    expect(() => tfleetFieldResolver({ alias: 'e; DROP' })).toThrow(/plain SQL alias/);
  });

  it('checks values of enums, and statuses when given them', () => {
    expect(filterError(() => compile("backend = 'tpu'"))).toMatchObject({ kind: 'type', position: 10, expected: "one of 'webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'" });
    expect(filterError(() => compile("dataset.name = 'imagenet'"))).toMatchObject({ kind: 'type', position: 15 });
    expect(compile("status = 'done'").params).toEqual(['done']);
    expect(filterError(() => compile("status = 'done'", 'sqlite', { statuses: ['queued', 'completed'] }))).toMatchObject({ kind: 'type', expected: "one of 'queued', 'completed'" });
  });

  it('rejects a number field compared with a string, at the value', () => {
    expect(filterError(() => compile("training.learningRate < '0.01'")).toJSON()).toEqual({
      kind: 'type',
      position: 24,
      expected: 'a number',
      message: "filter: at 24: training.learningRate needs a number, found '0.01'",
    });
  });

  it.each([
    ['model.unitz = 1', 0, 'model.units'],
    ['model.blocks = 1', 0, 'model.dropout'],
    ['training.foo = 1', 0, 'training.learningRate'],
    ['dataset.samples = 1 AND dataset.sample = 2', 24, 'dataset.samples'],
    ['metrics.a.b = 1', 0, 'metrics.<name>'],
    ['metrics._x = 1', 0, 'metrics.<name>'],
    [`metrics.${'a'.repeat(65)} = 1`, 0, 'metrics.<name>'],
    ['spec = 1', 0, 'model.*'],
    ['e.status = 1', 0, 'status'],
    ['constructor = 1', 0, 'createdAt'],
    ['toString = 1', 0, 'status'],
  ])('rejects the unknown field in %j at %i, listing %s among the allowed', (text, position, listed) => {
    const error = filterError(() => compile(text));
    expect(error).toMatchObject({ kind: 'field', position });
    expect(error.expected).toContain(listed);
  });

  it('lists the roots when the root is unknown, and the fields under a known root', () => {
    const resolver = tfleetFieldResolver();
    expect(resolver.allowed('foo')).toEqual(['name', 'dataset.*', 'model.*', 'training.*', 'metrics.<name>', 'status', 'backend', 'ranks', 'createdAt']);
    expect(tfleetFieldResolver({ sweepId: true }).allowed('foo')).toContain('sweepId');
    expect(resolver.allowed('training.x')).toEqual(expect.arrayContaining(['training.learningRate', 'training.seed', 'training.ranks']));
    expect(resolver.allowed('training.x').every((p) => p.startsWith('training.'))).toBe(true);
  });
});
