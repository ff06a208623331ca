import type { RankReport } from '@tfleet/contracts';
import { type EpochPoint, findConvergence, rowFromReports } from './rows';

const epoch = (n: number, mse: number): RankReport => ({
  kind: 'epoch',
  epoch: n,
  step: n * 10,
  train: { loss: mse * 1.1 },
  validation: { loss: mse, mse },
  samplesPerSecond: 200,
  wallTimeMs: 1_600, // 320 samples an epoch
});

const reports: RankReport[] = [
  { kind: 'ready', rank: 0, paramCount: 17_217, backend: 'wasm', device: 'cpu (wasm simd, 1 thread)', tfjsVersion: '4.22.0' },
  epoch(1, 0.17),
  epoch(2, 0.05),
  epoch(3, 0.01),
  epoch(4, 0.005),
  { kind: 'completed', test: { mse: 0.006 }, baselines: { baselineMse: 0.168 }, steps: 40, epochs: 4, samplesPerSecond: 199, wallTimeMs: 6_400 },
];

describe('rowFromReports', () => {
  it('collects parameters, per-epoch validation, test metrics, throughput and convergence', () => {
    const row = rowFromReports({ label: 'lstm', family: 'lstm', dataset: 'adding' }, reports, { metric: 'mse', goal: 'at-most', value: 0.0167 }, 9_000);
    expect(row.params).toBe(17_217);
    expect(row.epochs.map((e) => e.samples)).toEqual([320, 640, 960, 1280]);
    expect(row.epochs[1]!.validation['mse']).toBe(0.05);
    expect(row.convergence).toEqual({ epoch: 3, step: 30, samples: 960, trainMs: 4_800 });
    expect(row.test).toEqual({ mse: 0.006 });
    expect(row.baselines['baselineMse']).toBe(0.168);
    expect(row.samplesPerSecond).toBe(199);
    expect(row.trainMs).toBe(6_400);
    expect(row.wallMs).toBe(9_000);
    expect(row.backend).toBe('wasm');
    expect(row.error).toBeNull();
  });

  it('keeps what a failed run reported, with its error', () => {
    const row = rowFromReports({ label: 'gru', family: 'gru', dataset: 'adding' }, reports.slice(0, 3), { metric: 'mse', goal: 'at-most', value: 0.0167 }, 3_000, 'training diverged');
    expect(row.error).toBe('training diverged');
    expect(row.epochs).toHaveLength(2);
    expect(row.samplesPerSecond).toBeNull();
    expect(row.trainMs).toBe(3_200);
    expect(row.convergence).toBeNull();
  });

  it('marks a run that ended without a result', () => {
    const row = rowFromReports({ label: 'gru', family: 'gru', dataset: 'adding' }, reports.slice(0, 2), { metric: 'mse', goal: 'at-most', value: 0.0167 }, 1_000);
    expect(row.error).toBe('the run ended without a result');
  });
});

describe('findConvergence', () => {
  const point = (n: number, accuracy: number | undefined): EpochPoint => ({
    epoch: n,
    step: n * 5,
    samples: n * 100,
    trainLoss: null,
    validation: accuracy === undefined ? {} : { accuracy },
    wallTimeMs: 10,
  });

  it('finds the first epoch at or past an at-least target, adding up training time', () => {
    const points = [point(1, 0.9), point(2, undefined), point(3, 0.95), point(4, 0.97)];
    expect(findConvergence(points, { metric: 'accuracy', goal: 'at-least', value: 0.95 })).toEqual({ epoch: 3, step: 15, samples: 300, trainMs: 30 });
    expect(findConvergence(points, { metric: 'accuracy', goal: 'at-least', value: 0.99 })).toBeNull();
    expect(findConvergence([], { metric: 'accuracy', goal: 'at-least', value: 0.5 })).toBeNull();
  });
});
