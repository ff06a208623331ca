import { experimentSpecSchema } from '@tfleet/contracts';
import { canonicalJson, scalingEfficiency, throughputSignature } from './throughput-baselines';

const spec = (training: Record<string, unknown> = {}, model: Record<string, unknown> = { family: 'cnn' }) =>
  experimentSpecSchema.parse({ dataset: { name: 'mnist' }, model, training });

describe('throughputSignature', () => {
  const device = 'cpu (wasm simd, 1 thread)';

  it('ignores what does not change samples/s: ranks, seed, epochs, learning rate, name', () => {
    const base = throughputSignature(spec(), 'wasm', device);
    expect(throughputSignature(spec({ ranks: 2, seed: 9, epochs: 40, learningRate: 0.1 }), 'wasm', device)).toBe(base);
    expect(throughputSignature({ ...spec(), name: 'other' }, 'wasm', device)).toBe(base);
  });

  it('changes with the batch, the model, the backend and the device', () => {
    const base = throughputSignature(spec(), 'wasm', device);
    const others = [
      throughputSignature(spec({ batchSize: 32 }), 'wasm', device),
      throughputSignature(spec({}, { family: 'cnn', denseUnits: [64] }), 'wasm', device),
      throughputSignature(spec(), 'cpu', device),
      throughputSignature(spec(), 'wasm', 'another device'),
    ];
    expect(new Set([base, ...others]).size).toBe(5);
  });

  it('hashes key order away', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }));
    expect(canonicalJson({ a: undefined, b: null })).toBe('{"b":null}');
  });
});

describe('scalingEfficiency', () => {
  it('is samples/s over ranks x the 1-rank figure', () => {
    expect(scalingEfficiency(1800, 2, 1000)).toBe(0.9);
    expect(scalingEfficiency(1000, 1, 1000)).toBe(1);
  });

  it('is null without a usable baseline', () => {
    expect(scalingEfficiency(1800, 2, 0)).toBeNull();
    expect(scalingEfficiency(Number.NaN, 2, 1000)).toBeNull();
  });
});
