import { groupStats } from './group-stats';

describe('groupStats', () => {
  it('gives n, mean, sample standard deviation (n - 1), min and max', () => {
    // mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; sample variance 32/7
    const stats = groupStats([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(stats).toEqual({ n: 8, mean: 5, std: expect.any(Number), min: 2, max: 9 });
    expect(stats.std).toBeCloseTo(Math.sqrt(32 / 7), 12);
  });

  it('computes three seeds as a test would by hand', () => {
    const values = [0.91, 0.93, 0.95];
    const stats = groupStats(values);
    expect(stats.n).toBe(3);
    expect(stats.mean).toBeCloseTo(0.93, 12);
    expect(stats.std).toBeCloseTo(0.02, 12);
  });

  it('has no standard deviation for one value', () => {
    expect(groupStats([0.5])).toEqual({ n: 1, mean: 0.5, std: null, min: 0.5, max: 0.5 });
  });

  it('stays exact for values far from zero', () => {
    const stats = groupStats([1e9 + 1, 1e9 + 2, 1e9 + 3]);
    expect(stats.mean).toBe(1e9 + 2);
    expect(stats.std).toBe(1);
  });

  it('throws on no values or a value that is not finite', () => {
    expect(() => groupStats([])).toThrow(RangeError);
    expect(() => groupStats([1, Number.NaN])).toThrow(/not a finite number/);
    expect(() => groupStats([1, Infinity])).toThrow(RangeError);
  });
});
