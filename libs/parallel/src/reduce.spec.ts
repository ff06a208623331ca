import { ownedRange, sumInRankOrder } from './reduce';

describe('sumInRankOrder', () => {
  it.each([1, 2, 3, 5])('sums %i sources in rank order, accumulated in float64', (count) => {
    const sources = Array.from({ length: count }, (_, r) => Float32Array.from([1e8, 1, -1e8, 0.1 * (r + 1)]));
    const target = new Float32Array(4);
    sumInRankOrder(sources, target, 0, 4);
    for (let i = 0; i < 4; i++) {
      let expected = sources[0]![i]!;
      for (let r = 1; r < count; r++) expected += sources[r]![i]!;
      expect(target[i]).toBe(Math.fround(expected));
    }
  });

  it('writes a sub-range at the requested offset and leaves the rest alone', () => {
    const a = Float32Array.from([1, 2, 3, 4]);
    const b = Float32Array.from([10, 20, 30, 40]);
    const target = new Float32Array(4).fill(-1);
    sumInRankOrder([a, b], target, 1, 3, 1);
    expect(Array.from(target)).toEqual([-1, 22, 33, -1]);
  });

  it('rejects an empty list of sources', () => {
    expect(() => sumInRankOrder([], new Float32Array(1), 0, 1)).toThrow('at least one source');
  });
});

describe('ownedRange', () => {
  it.each([
    [1, 10],
    [3, 10],
    [4, 3],
    [4, 0],
  ])('tiles a vector among %i ranks (length %i)', (worldSize, length) => {
    let next = 0;
    for (let rank = 0; rank < worldSize; rank++) {
      const { lo, hi } = ownedRange(rank, worldSize, length);
      expect(lo).toBe(next);
      expect(hi).toBeGreaterThanOrEqual(lo);
      next = hi;
    }
    expect(next).toBe(length);
  });
});
