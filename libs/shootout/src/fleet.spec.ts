import { meanRow, type RecordedRun, renderSpread, rowFromRecordedRun, spreadOf, summarizeFleetShootout } from './fleet';

const target = { metric: 'mse', goal: 'at-most' as const, value: 0.5 };

const run = (seedMse: number, times = true): RecordedRun => ({
  label: 'lstm',
  family: 'lstm',
  dataset: 'adding',
  status: 'completed',
  error: null,
  paramCount: 100,
  test: { mse: seedMse },
  baselines: { baselineMse: 0.17 },
  samplesPerSecond: 50,
  steps: 20,
  trainMs: 2_000,
  wallMs: 2_500,
  backend: 'wasm',
  device: 'cpu',
  history: [
    { epoch: 1, step: 10, train: { loss: 1 }, validation: { mse: 0.8 } },
    { epoch: 2, step: 20, train: { loss: 0.5 }, validation: { mse: 0.4 } },
  ],
  epochTimes: times ? [{ epoch: 1, wallTimeMs: 1_000, samplesPerSecond: 32 }, { epoch: 2, wallTimeMs: 1_000, samplesPerSecond: 32 }] : [],
});

describe('shootout rows from the fleet', () => {
  it('builds the row a rank report would: samples and time to target from the epoch times', () => {
    const row = rowFromRecordedRun(run(0.3), target);
    expect(row.epochs.map((e) => [e.epoch, e.step, e.samples, e.trainLoss])).toEqual([[1, 10, 32, 1], [2, 20, 64, 0.5]]);
    expect(row.convergence).toEqual({ epoch: 2, step: 20, samples: 64, trainMs: 2_000 });
    expect(row.error).toBeNull();
    // Without the epoch times, time to target is unknown, not zero.
    expect(rowFromRecordedRun(run(0.3, false), target).convergence).toBeNull();
    expect(rowFromRecordedRun({ ...run(0.3), status: 'failed', error: 'boom' }, target)).toMatchObject({ error: 'boom', samplesPerSecond: null });
  });

  it('means over seeds, the spread with the sample std, and claims on the means', () => {
    expect(spreadOf([1, 3])).toEqual({ n: 2, mean: 2, std: Math.SQRT2 });
    expect(spreadOf([4])).toEqual({ n: 1, mean: 4, std: null });
    expect(spreadOf([])).toBeNull();
    const rows = [rowFromRecordedRun(run(0.2), target), rowFromRecordedRun(run(0.4), target), rowFromRecordedRun({ ...run(9), status: 'failed', error: 'x' }, target)];
    expect(meanRow(rows).test['mse']).toBeCloseTo(0.3, 12);
    const summary = summarizeFleetShootout(
      { claims: [{ id: 'low', statement: 'low', checks: [{ kind: 'threshold', row: 'lstm', quantity: { of: 'test', metric: 'mse' }, relation: 'at-most', value: 0.35 }] }] },
      ['lstm'],
      new Map([['lstm', rows]]),
    );
    expect(summary.spread['lstm']!['mse']).toEqual({ n: 2, mean: expect.closeTo(0.3, 12), std: expect.closeTo(Math.SQRT2 * 0.1, 12) });
    expect(summary.claims.map((c) => c.verdict)).toEqual(['held']);
    expect(renderSpread('mse', ['lstm'], summary.spread)).toContain('| lstm | 2 | 0.3000 ± 0.1414 |');
  });
});
