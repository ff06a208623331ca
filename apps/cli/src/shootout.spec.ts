import { join, resolve } from 'node:path';
import type { ShootoutResult, ShootoutRow } from '@tfleet/shootout';
import { outputPaths, parseShootoutArgs, rejudge } from './shootout';

describe('parseShootoutArgs', () => {
  it('reads the suite, output options, a label filter and the backend', () => {
    expect(parseShootoutArgs(['--suite', 'adding-100', '--json', '--out', 'x.json', '--only', 'lstm, gru', '--backend', 'cpu'])).toEqual({
      suite: 'adding-100',
      json: true,
      out: 'x.json',
      only: ['lstm', 'gru'],
      epochs: null,
      backend: 'cpu',
      list: false,
      specs: false,
      from: null,
    });
    expect(parseShootoutArgs(['--list']).list).toBe(true);
    expect(parseShootoutArgs(['--suite', 'mnist', '--specs']).specs).toBe(true);
    expect(parseShootoutArgs(['--from', 'stored.json']).from).toBe('stored.json');
    expect(parseShootoutArgs(['--suite', 'brown', '--epochs', '6']).epochs).toBe(6);
  });

  it('defaults to the wasm backend, markdown output and the data directory', () => {
    expect(parseShootoutArgs(['--suite', 'mnist'])).toEqual({ suite: 'mnist', json: false, out: null, only: null, epochs: null, backend: 'wasm', list: false, specs: false, from: null });
  });

  it('refuses a missing suite, a flag without its value, an unknown flag or backend', () => {
    expect(() => parseShootoutArgs([])).toThrow(/--suite \(or --from\) is required/);
    expect(() => parseShootoutArgs(['--suite'])).toThrow(/--suite needs a value/);
    expect(() => parseShootoutArgs(['--suite', '--json'])).toThrow(/--suite needs a value/);
    expect(() => parseShootoutArgs(['--suite', 'mnist', '--fast'])).toThrow(/unknown argument '--fast'/);
    expect(() => parseShootoutArgs(['--suite', 'mnist', '--backend', 'tpu'])).toThrow(/--backend must be one of auto, webgpu, tensorflow-gpu/);
    expect(() => parseShootoutArgs(['--suite', 'brown', '--epochs', '2.5'])).toThrow(/--epochs must be an integer/);
    expect(() => parseShootoutArgs(['--suite', 'brown', '--epochs', '0'])).toThrow(/--epochs must be an integer/);
  });
});

describe('outputPaths', () => {
  const result = { suite: 'mnist', startedAt: '2026-11-28T12:34:56.789Z' };

  it('stores a timestamped JSON and markdown pair under the data directory', () => {
    expect(outputPaths(result, null, '/tmp/d')).toEqual({
      json: '/tmp/d/shootouts/mnist-2026-11-28T12-34-56-789Z.json',
      markdown: '/tmp/d/shootouts/mnist-2026-11-28T12-34-56-789Z.md',
    });
  });

  it('puts the markdown beside an explicit --out file', () => {
    expect(outputPaths(result, 'out/table.json', '/tmp/d')).toEqual({ json: resolve('out/table.json'), markdown: resolve('out/table.md') });
    expect(outputPaths(result, 'table', '/tmp/d')).toEqual({ json: resolve('table'), markdown: join(resolve('.'), 'table.md') });
  });
});

describe('rejudge', () => {
  it('evaluates the suite\'s current claims over the stored rows, keeping the rows', () => {
    const row = (label: string, mse: number): ShootoutRow => ({
      label, family: label, dataset: 'adding', params: 17_000, test: { mse }, baselines: { baselineMse: 0.17 }, epochs: [], convergence: null,
      samplesPerSecond: 100, steps: 10, trainMs: 1, wallMs: 1, backend: 'wasm', device: 'cpu', error: null,
    });
    const rows = [row('simple-rnn', 0.2), row('lstm', 0.001), row('gru', 0.001), row('transformer', 0.001)];
    const stored = { suite: 'adding-100', rows, claims: [] } as unknown as ShootoutResult;
    const judged = rejudge(stored);
    expect(judged.rows).toBe(rows);
    expect(judged.claims.map((c) => [c.id, c.verdict])).toEqual([
      ['gated-and-attention-solve-adding', 'held'],
      ['simple-rnn-stays-at-baseline', 'held'],
      ['transformer-sooner-to-target', 'not measured'],
    ]);
  });
});
