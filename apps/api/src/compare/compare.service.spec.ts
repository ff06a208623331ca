import { NotFoundException } from '@nestjs/common';
import { openRunsFixture, type RunsFixture } from '../testing/runs.fixture';
import { CompareService, downsampleEpochs } from './compare.service';

describe('downsampleEpochs', () => {
  it('keeps every epoch up to the limit, else an even spread with the first and the last', () => {
    expect(downsampleEpochs([1, 2, 3], 5)).toEqual([1, 2, 3]);
    expect(downsampleEpochs([1, 2, 3, 4, 5, 6, 7, 8, 9], 3)).toEqual([1, 5, 9]);
    const many = Array.from({ length: 1000 }, (_, i) => i + 1);
    const picked = downsampleEpochs(many, 200);
    expect(picked).toHaveLength(200);
    expect([picked[0], picked.at(-1)]).toEqual([1, 1000]);
    expect(downsampleEpochs(many, 1)).toEqual([1000]);
  });
});

describe('CompareService (a real SQLite file)', () => {
  let fixture: RunsFixture;
  let service: CompareService;
  let a: string;
  let b: string;
  let c: string;

  beforeAll(async () => {
    fixture = await openRunsFixture();
    service = new CompareService(fixture.repository);
    const spec = (units: number, lr: number) => ({ dataset: { name: 'mnist' as const }, model: { family: 'cnn' as const, denseUnits: [units] }, training: { learningRate: lr } });
    a = await fixture.addRun(spec(32, 0.001), { test: { accuracy: 0.9 }, validation: [{ accuracy: 0.5 }, { accuracy: 0.7 }, { accuracy: 0.8 }] });
    b = await fixture.addRun(spec(64, 0.001), { test: { accuracy: 0.8 }, validation: [{ accuracy: 0.6 }] });
    c = await fixture.addRun(spec(32, 0.01), { test: { accuracy: 0.7 }, validation: [{ accuracy: 0.4 }, { accuracy: 0.45 }] });
  });

  afterAll(async () => {
    await fixture.close();
  });

  it('lists exactly the differing spec paths, their values per run, and the rest as same', async () => {
    const result = await service.compare([a, b, c], 200);
    expect(result.ids).toEqual([a, b, c]);
    expect(result.differences).toEqual(['model.denseUnits.0', 'training.learningRate']);
    expect(result.differing).toEqual({ 'model.denseUnits.0': [32, 64, 32], 'training.learningRate': [0.001, 0.001, 0.01] });
    expect(result.same).toMatchObject({ 'dataset.name': 'mnist', 'model.family': 'cnn' });
    expect(Object.keys(result.same)).not.toContain('training.learningRate');
    expect(result.runs.map((r) => r.metrics)).toEqual([{ accuracy: 0.9 }, { accuracy: 0.8 }, { accuracy: 0.7 }]);
    expect(result.sameBoard).toBe(true);
  });

  it('aligns each curve by epoch, null where a run has no value, and downsamples to points', async () => {
    const full = await service.compare([a, b, c], 200);
    const validation = full.curves.find((k) => k.split === 'validation' && k.metric === 'accuracy')!;
    expect(validation.epochs).toEqual([1, 2, 3]);
    expect(validation.values).toEqual({ [a]: [0.5, 0.7, 0.8], [b]: [0.6, null, null], [c]: [0.4, 0.45, null] });
    expect(full.curves.map((k) => `${k.split}.${k.metric}`)).toEqual(['validation.accuracy', 'train.loss']);
    const two = await service.compare([a, c], 2);
    expect(two.curves[0]!.epochs).toEqual([1, 3]);
    expect(two.curves[0]!.values[a]).toEqual([0.5, 0.8]);
  });

  it('answers 404 naming every unknown or malformed id', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const error = await service.compare([a, unknown, 'nope'], 200).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundException);
    expect((error as NotFoundException).message).toContain(unknown);
    expect((error as NotFoundException).message).toContain('nope');
    expect((error as NotFoundException).message).not.toContain(a);
  });
});
