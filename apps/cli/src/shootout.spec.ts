import { join, resolve } from 'node:path';
import { outputPaths, parseShootoutArgs } from './shootout';

describe('parseShootoutArgs', () => {
  it('reads the suite, output options, a label filter and the backend', () => {
    expect(parseShootoutArgs(['--suite', 'adding-100', '--json', '--out', 'x.json', '--only', 'lstm, gru', '--backend', 'cpu'])).toEqual({
      suite: 'adding-100',
      json: true,
      out: 'x.json',
      only: ['lstm', 'gru'],
      backend: 'cpu',
      list: false,
      specs: false,
    });
    expect(parseShootoutArgs(['--list']).list).toBe(true);
    expect(parseShootoutArgs(['--suite', 'mnist', '--specs']).specs).toBe(true);
  });

  it('defaults to the wasm backend, markdown output and the data directory', () => {
    expect(parseShootoutArgs(['--suite', 'mnist'])).toEqual({ suite: 'mnist', json: false, out: null, only: null, backend: 'wasm', list: false, specs: false });
  });

  it('refuses a missing suite, a flag without its value, an unknown flag or backend', () => {
    expect(() => parseShootoutArgs([])).toThrow(/--suite is required/);
    expect(() => parseShootoutArgs(['--suite'])).toThrow(/--suite needs a value/);
    expect(() => parseShootoutArgs(['--suite', '--json'])).toThrow(/--suite needs a value/);
    expect(() => parseShootoutArgs(['--suite', 'mnist', '--fast'])).toThrow(/unknown argument '--fast'/);
    expect(() => parseShootoutArgs(['--suite', 'mnist', '--backend', 'tpu'])).toThrow(/--backend must be one of auto, tensorflow-gpu/);
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
