import type { ShootoutRow } from '@tfleet/shootout';

/** A measured row for the pure-function tests; fields not given take plausible values. */
export function fakeRow(overrides: Partial<ShootoutRow> & Pick<ShootoutRow, 'label'>): ShootoutRow {
  return {
    family: overrides.label,
    dataset: 'adding',
    params: 17_000,
    test: {},
    baselines: {},
    epochs: [],
    convergence: null,
    samplesPerSecond: 100,
    steps: 10,
    trainMs: 1_000,
    wallMs: 1_500,
    backend: 'wasm',
    device: 'cpu',
    error: null,
    ...overrides,
  };
}
