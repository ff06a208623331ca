import { parseWith } from '@tfleet/contracts';
import { ashaDecision, meetsStopWhen, rungsOf } from './asha';
import { type SweepRequest, sweepRequestSchema } from './sweep-request';
import { planSweep, seededRandom, uuidFromHash, withPath } from './trials';

const base = { dataset: { name: 'mnist', samples: 200 }, model: { family: 'cnn', blocks: [], denseUnits: [8] }, training: { epochs: 1, batchSize: 16 } };

function request(input: Record<string, unknown>): SweepRequest {
  const parsed = parseWith(sweepRequestSchema, input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

function issuesOf(input: Record<string, unknown>): string[] {
  const parsed = parseWith(sweepRequestSchema, input);
  if (!parsed.ok) return parsed.issues.map((i) => i.field);
  const plan = planSweep(parsed.value);
  return plan.ok ? [] : plan.issues.map((i) => i.field);
}

describe('sweep plans', () => {
  const grid = { base, method: 'grid', space: { 'training.learningRate': { values: [0.001, 0.01] }, 'training.batchSize': { values: [8, 16] } }, seeds: [1, 2] };

  it('a 2 x 2 grid over 2 seeds is 8 trials with distinct uuid ids, each config once per seed', () => {
    const plan = planSweep(request(grid));
    if (!plan.ok) throw new Error(JSON.stringify(plan.issues));
    expect(plan.trials).toHaveLength(8);
    expect(new Set(plan.trials.map((t) => t.id)).size).toBe(8);
    for (const t of plan.trials) expect(t.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(plan.trials.map((t) => [t.spec.training.batchSize, t.spec.training.learningRate, t.spec.training.seed])).toEqual([
      [8, 0.001, 1], [8, 0.001, 2], [8, 0.01, 1], [8, 0.01, 2], [16, 0.001, 1], [16, 0.001, 2], [16, 0.01, 1], [16, 0.01, 2],
    ]);
  });

  it('the same content gives the same ids whatever the key order; other content other ids', () => {
    const a = planSweep(request(grid));
    const b = planSweep(request({ seeds: [1, 2], space: { 'training.batchSize': { values: [8, 16] }, 'training.learningRate': { values: [0.001, 0.01] } }, method: 'grid', base }));
    const c = planSweep(request({ ...grid, seeds: [1, 3] }));
    if (!a.ok || !b.ok || !c.ok) throw new Error('plans should be valid');
    expect(b.id).toBe(a.id);
    expect(b.trials.map((t) => t.id)).toEqual(a.trials.map((t) => t.id));
    expect(c.id).not.toBe(a.id);
    expect(c.trials.filter((t) => a.trials.some((x) => x.id === t.id))).toEqual([]);
  });

  it('random search draws the same configurations for the same sweep, inside the ranges', () => {
    const random = { base, method: 'random', samples: 20, space: { 'training.learningRate': { logUniform: [1e-4, 1e-1] }, 'training.batchSize': { int: [4, 9] }, 'model.dropout': { uniform: [0, 0.5] } } };
    const a = planSweep(request(random));
    const b = planSweep(request(random));
    const other = planSweep(request({ ...random, randomSeed: 1 }));
    const scheduledOtherwise = planSweep(request({ ...random, name: 'other', seeds: [3], maxConcurrent: 2, stopWhen: { metric: 'loss', mode: 'min', value: 0.1 } }));
    if (!a.ok || !b.ok || !other.ok || !scheduledOtherwise.ok) throw new Error('plans should be valid');
    expect(b.trials.map((t) => t.assignment)).toEqual(a.trials.map((t) => t.assignment));
    // The draw depends on base, space, samples and randomSeed only: early stopping, limits and seeds compare the same configurations.
    expect(scheduledOtherwise.trials.map((t) => t.assignment)).toEqual(a.trials.map((t) => t.assignment));
    expect(scheduledOtherwise.id).not.toBe(a.id);
    expect(other.trials.map((t) => t.assignment)).not.toEqual(a.trials.map((t) => t.assignment));
    for (const t of a.trials) {
      expect(t.spec.training.learningRate).toBeGreaterThanOrEqual(1e-4);
      expect(t.spec.training.learningRate).toBeLessThanOrEqual(1e-1);
      expect(Number.isInteger(t.spec.training.batchSize) && t.spec.training.batchSize >= 4 && t.spec.training.batchSize <= 9).toBe(true);
    }
    // log-uniform: about half the draws below the geometric middle (1e-2.5)
    const low = a.trials.filter((t) => t.spec.training.learningRate < 10 ** -2.5).length;
    expect(low).toBeGreaterThan(3);
    expect(low).toBeLessThan(17);
  });

  it('model.family is a path like any other, and a family that does not fit the task is an invalid trial', () => {
    const fits = planSweep(request({ base: { dataset: { name: 'brown' }, model: { family: 'lstm' } }, method: 'grid', space: { 'model.family': { values: ['lstm', 'gru'] } } }));
    expect(fits.ok && fits.trials.map((t) => t.spec.model.family)).toEqual(['lstm', 'gru']);
    expect(issuesOf({ base, method: 'grid', space: { 'model.family': { values: ['cnn', 'lstm'] } } })[0]).toMatch(/^trials\[1\]\.model/);
  });

  it('invalid sweeps name the field: empty space, bad path, bad range, grid over a range, random without samples', () => {
    expect(issuesOf({ base, method: 'grid', space: {} })).toEqual(['space']);
    expect(issuesOf({ base, method: 'grid', space: { 'model..units': { values: [1] } } })).toEqual(['space.model..units']);
    expect(issuesOf({ base, method: 'grid', space: { 'model.nonsense': { values: [1] } } })).toEqual(['trials[0].model.nonsense']);
    expect(issuesOf({ base, method: 'random', samples: 2, space: { 'training.learningRate': { uniform: [0.1, 0.01] } } })).toEqual(['space.training.learningRate.uniform']);
    expect(issuesOf({ base, method: 'grid', space: { 'training.learningRate': { uniform: [0.01, 0.1] } } })).toEqual(['space.training.learningRate']);
    expect(issuesOf({ base, method: 'random', space: { 'training.learningRate': { values: [0.1] } } })).toEqual(['samples']);
    expect(issuesOf({ base, method: 'grid', space: { 'training.seed': { values: [1] } } })).toEqual(['space.training.seed']);
    expect(issuesOf({ base, method: 'grid', space: { 'training.learningRate': { values: [-1] } } })).toEqual(['trials[0].training.learningRate']);
  });

  it('a grid too large is refused from its counts, before any configuration is listed (10^9 trials, an int range of 2^53)', () => {
    const thousand = { values: Array.from({ length: 1_000 }, (_, i) => i + 1) };
    const huge = planSweep(request({ base, method: 'grid', space: { 'training.epochs': thousand, 'training.batchSize': thousand, 'model.denseUnits.0': thousand } }));
    expect(huge).toEqual({ ok: false, issues: [{ field: 'space', message: '1000000000 trials (configurations × seeds) is more than 1000' }] });
    const range = planSweep(request({ base, method: 'grid', space: { 'training.epochs': { int: [1, 1_000_000_000] } }, seeds: [1, 2] }));
    expect(range).toEqual({ ok: false, issues: [{ field: 'space', message: '2000000000 trials (configurations × seeds) is more than 1000' }] });
    const widest = planSweep(request({ base, method: 'grid', space: { 'training.epochs': { int: [-(2 ** 52), 2 ** 52] } } }));
    expect(widest.ok).toBe(false);
  });

  it('a base or a listed value nested thousands deep is refused naming it, before anything recurses into it (found by the fuzz test)', () => {
    const nested = (depth: number): unknown => JSON.parse('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
    for (const depth of [33, 10_000, 100_000]) {
      expect(issuesOf({ base: nested(depth), method: 'grid', space: { 'training.learningRate': { values: [0.1] } } })).toEqual(['base']);
      expect(issuesOf({ base, method: 'grid', space: { 'training.learningRate': { values: [0.1, nested(depth)] } } })).toEqual(['space.training.learningRate.values.1']);
    }
    // 32 levels pass the schema (the trial's spec check then judges the value itself).
    expect(parseWith(sweepRequestSchema, { base, method: 'grid', space: { 'training.learningRate': { values: [nested(31)] } } }).ok).toBe(true);
    expect(issuesOf({ base, method: 'grid', space: { 'training.learningRate': { values: [nested(31)] } } })).toEqual(['trials[0].training.learningRate']);
  });

  it('withPath sets inside arrays that exist and refuses to walk through a scalar', () => {
    expect(withPath({ model: { blocks: [{ filters: 8 }] } }, 'model.blocks.0.filters', 4)).toEqual({ model: { blocks: [{ filters: 4 }] } });
    expect(withPath({ model: { blocks: [] } }, 'model.blocks.3.filters', 4)).toBeNull();
    expect(withPath({ model: 'cnn' }, 'model.units', 4)).toBeNull();
  });

  it('uuidFromHash is stable and seededRandom repeats', () => {
    expect(uuidFromHash('x')).toBe(uuidFromHash('x'));
    const r1 = seededRandom(7);
    const r2 = seededRandom(7);
    expect([r1(), r1(), r1()]).toEqual([r2(), r2(), r2()]);
  });
});

describe('ASHA and stopWhen', () => {
  const asha = { method: 'asha' as const, metric: 'loss', mode: 'min' as const, gracePeriod: 1, reductionFactor: 2, maxEpochs: 8 };

  it('rungs at the grace period times powers of the reduction factor, below maxEpochs', () => {
    expect(rungsOf(asha)).toEqual([1, 2, 4]);
    expect(rungsOf({ gracePeriod: 1, reductionFactor: 3, maxEpochs: 10 })).toEqual([1, 3, 9]);
  });

  it('keeps the top 1/reductionFactor of those at the rung; the first to arrive goes on', () => {
    expect(ashaDecision(asha, 1, 0.9, [0.9])).toEqual({ action: 'continue' });
    expect(ashaDecision(asha, 1, 0.9, [0.5, 0.9])).toEqual({ action: 'stop', rung: 0, epoch: 1, value: 0.9, cutoff: 0.5 });
    expect(ashaDecision(asha, 1, 0.4, [0.5, 0.4])).toEqual({ action: 'continue' });
    // four at the rung: the best two go on
    expect(ashaDecision(asha, 2, 0.6, [0.5, 0.7, 0.8, 0.6])).toEqual({ action: 'continue' });
    expect(ashaDecision(asha, 2, 0.7, [0.5, 0.7, 0.8, 0.6])).toMatchObject({ action: 'stop', rung: 1, cutoff: 0.6 });
    expect(ashaDecision({ ...asha, mode: 'max' }, 1, 0.9, [0.5, 0.9])).toEqual({ action: 'continue' });
    expect(ashaDecision(asha, 3, 9, [0, 9])).toEqual({ action: 'continue' });
    expect(ashaDecision(asha, 1, undefined, [0.1])).toEqual({ action: 'continue' });
  });

  it('stopWhen compares by mode', () => {
    expect(meetsStopWhen({ metric: 'accuracy', mode: 'max', value: 0.9 }, 0.91)).toBe(true);
    expect(meetsStopWhen({ metric: 'accuracy', mode: 'max', value: 0.9 }, 0.89)).toBe(false);
    expect(meetsStopWhen({ metric: 'loss', mode: 'min', value: 0.2 }, 0.2)).toBe(true);
    expect(meetsStopWhen({ metric: 'loss', mode: 'min', value: 0.2 }, undefined)).toBe(false);
  });
});
