import { addingDatasetSchema } from '@tfleet/contracts';
import { loadAdding } from './adding';

describe('adding', () => {
  const spec = addingDatasetSchema.parse({ name: 'adding', sequenceLength: 50, samples: 4_000 });
  const data = loadAdding(spec);

  it('has [length, 2] float inputs with two markers, one per half, and their sum as target', () => {
    expect(data.task).toBe('sequence-regression');
    expect(data.inputSpecs).toEqual([{ name: 'sequence', shape: [50, 2], dtype: 'float32' }]);
    expect(data.targetSpec).toEqual({ name: 'sum', shape: [], dtype: 'float32' });
    const input = data.train.inputs[0]!;
    const problems: string[] = [];
    for (let i = 0; i < data.train.size; i++) {
      const markers: number[] = [];
      let sum = 0;
      for (let t = 0; t < 50; t++) {
        const value = input[(i * 50 + t) * 2]!;
        const marker = input[(i * 50 + t) * 2 + 1]!;
        if (!(value >= 0 && value < 1)) problems.push(`sample ${i} step ${t}: value ${value}`);
        if (marker !== 0 && marker !== 1) problems.push(`sample ${i} step ${t}: marker ${marker}`);
        if (marker === 1) {
          markers.push(t);
          sum += value;
        }
      }
      if (markers.length !== 2 || markers[0]! >= 25 || markers[1]! < 25) problems.push(`sample ${i}: markers at ${markers.join(', ')}`);
      if (Math.abs(data.train.target[i]! - sum) > 1e-5) problems.push(`sample ${i}: target ${data.train.target[i]} but sum ${sum}`);
    }
    expect(problems).toEqual([]);
  });

  it('is deterministic for a spec and changes with the split seed', () => {
    const again = loadAdding(spec);
    expect(Array.from(again.test.inputs[0]!)).toEqual(Array.from(data.test.inputs[0]!));
    const other = loadAdding({ ...spec, splitSeed: 1 });
    expect(Array.from(other.test.target)).not.toEqual(Array.from(data.test.target));
  });

  it('gives the constant-1 baseline an MSE near 1/6', () => {
    const { baselineMse } = data.baselines();
    expect(baselineMse).toBeGreaterThan(0.14);
    expect(baselineMse).toBeLessThan(0.2);
  });

  it('refuses data sets too large to hold in memory, naming a size that fits', () => {
    expect(() => loadAdding({ ...spec, sequenceLength: 2_000, samples: 200_000 })).toThrow(/adding: .*use at most 33554 samples/);
  });
});
