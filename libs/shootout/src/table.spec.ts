import { evaluateClaims } from './claims';
import type { ShootoutResult } from './runner';
import { formatDuration, renderJson, renderMarkdown, sortRows } from './table';
import { fakeRow } from '@tfleet/testing';

const point = (epoch: number, mse: number) => ({ epoch, step: epoch * 250, samples: epoch * 8_000, trainLoss: null, validation: { mse }, wallTimeMs: 30_000 });

function result(): ShootoutResult {
  const rows = [
    fakeRow({ label: 'simple-rnn', params: 16_897, test: { mse: 0.17 }, baselines: { baselineMse: 0.168 }, epochs: [point(1, 0.18), point(2, 0.17)], samplesPerSecond: 512.3, trainMs: 31_000, wallMs: 35_500 }),
    fakeRow({
      label: 'lstm',
      params: 17_217,
      test: { mse: 0.0041 },
      baselines: { baselineMse: 0.168 },
      epochs: [point(1, 0.05), point(2, 0.004)],
      convergence: { epoch: 2, step: 500, samples: 16_000, trainMs: 60_000 },
      samplesPerSecond: 210,
      trainMs: 76_000,
      wallMs: 80_000,
    }),
    fakeRow({ label: 'gru', params: null, error: 'wasm heap | out of memory', samplesPerSecond: null, trainMs: 0, wallMs: 1_000 }),
  ];
  const claims = evaluateClaims(
    [
      { id: 'low', statement: 'LSTM reaches low error.', checks: [{ kind: 'versus-baseline', row: 'lstm', metric: 'mse', baseline: 'baselineMse', relation: 'at-most', fraction: 0.1 }] },
      { id: 'gru', statement: 'GRU reaches low error.', checks: [{ kind: 'versus-baseline', row: 'gru', metric: 'mse', baseline: 'baselineMse', relation: 'at-most', fraction: 0.1 }] },
      { id: 'rnn', statement: 'The simple RNN does well.', checks: [{ kind: 'versus-baseline', row: 'simple-rnn', metric: 'mse', baseline: 'baselineMse', relation: 'at-most', fraction: 0.1 }] },
    ],
    rows,
  );
  return {
    suite: 'adding-test',
    description: 'A test suite.',
    metric: { name: 'mse', better: 'lower', baseline: 'baselineMse' },
    target: { metric: 'mse', goal: 'at-most', value: 0.0167 },
    specs: {},
    rows,
    claims,
    startedAt: '2026-11-28T12:00:00.000Z',
    wallMs: 116_500,
    environment: { backend: 'wasm', device: 'cpu (wasm simd, 1 thread)', node: 'v20.19.0', cpus: 2 },
  };
}

describe('renderMarkdown', () => {
  const markdown = renderMarkdown(result());
  const lines = markdown.split('\n');

  it('heads the table with the suite, where it ran, and the convergence target', () => {
    expect(lines[0]).toBe('## Shootout: adding-test');
    expect(markdown).toContain('on wasm (cpu (wasm simd, 1 thread)), Node v20.19.0, 2 CPUs; total wall time 1 min 57 s.');
    expect(markdown).toContain('Target for convergence: validation mse <= 0.0167.');
  });

  it('lists the rows best first, a failed run last with its error escaped', () => {
    const header = lines.findIndex((l) => l.startsWith('| model |'));
    expect(lines[header]).toBe('| model | family | params | test mse | baselineMse | reached target | train samples/s | train time | wall time |');
    expect(lines[header + 2]).toBe('| lstm | lstm | 17,217 | 0.00410 | 0.168 | epoch 2, step 500, 16,000 samples, 1 min 00 s | 210 | 1 min 16 s | 1 min 20 s |');
    expect(lines[header + 3]).toBe('| simple-rnn | simple-rnn | 16,897 | 0.170 | 0.168 | not reached (2 epochs) | 512.3 | 31.0 s | 35.5 s |');
    expect(lines[header + 4]).toBe('| gru | gru | n/a | failed: wasm heap \\| out of memory | n/a | n/a | n/a | 0.0 s | 1.0 s |');
  });

  it('shows the validation metric after each epoch', () => {
    expect(lines).toContain('| model | 1 | 2 |');
    expect(lines).toContain('| lstm | 0.0500 | 0.00400 |');
    expect(lines).toContain('| gru | n/a | n/a |');
  });

  it('gives every claim its verdict and the numbers behind it', () => {
    expect(markdown).toContain('- **HELD**: LSTM reaches low error.\n  - holds: lstm: test mse <= 0.1 x baselineMse: 0.00410 <= 0.0168 (baselineMse 0.168)');
    expect(markdown).toContain('- **NOT MEASURED**: GRU reaches low error.\n  - not measured: gru: test mse <= 0.1 x baselineMse: the run failed');
    expect(markdown).toContain('- **NOT HELD**: The simple RNN does well.\n  - fails: simple-rnn: test mse <= 0.1 x baselineMse: 0.170 > 0.0168');
  });
});

describe('sortRows', () => {
  it('orders by the metric in its direction, keeping ties and missing values in suite order', () => {
    const rows = [fakeRow({ label: 'a', test: { accuracy: 0.9 } }), fakeRow({ label: 'b' }), fakeRow({ label: 'c', test: { accuracy: 0.95 } }), fakeRow({ label: 'd', test: { accuracy: 0.9 } })];
    expect(sortRows(rows, { name: 'accuracy', better: 'higher' }).map((r) => r.label)).toEqual(['c', 'a', 'd', 'b']);
    expect(sortRows(rows, { name: 'accuracy', better: 'lower' }).map((r) => r.label)).toEqual(['a', 'd', 'c', 'b']);
  });
});

describe('renderJson', () => {
  it('round-trips the whole result', () => {
    const r = result();
    expect(JSON.parse(renderJson(r))).toEqual(JSON.parse(JSON.stringify(r)));
  });
});

describe('formatDuration', () => {
  it('uses seconds under a minute, then minutes and seconds', () => {
    expect(formatDuration(4_321)).toBe('4.3 s');
    expect(formatDuration(59_949)).toBe('59.9 s');
    expect(formatDuration(61_000)).toBe('1 min 01 s');
    expect(formatDuration(5_430_000)).toBe('90 min 30 s');
  });
});
