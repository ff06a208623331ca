import { editDistance, exactMatch, phonemeErrorRate, tokenAccuracy, trimDecoded, trimDecodedRows } from './sequence-metrics';

describe('sequence metrics', () => {
  it('computes edit distances of known cases', () => {
    expect(editDistance([], [])).toBe(0);
    expect(editDistance([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(editDistance([], [1, 2])).toBe(2);
    expect(editDistance([1, 2], [])).toBe(2);
    expect(editDistance([1, 2, 3], [1, 3])).toBe(1);
    expect(editDistance([1, 9, 3], [1, 2, 3])).toBe(1);
    // kitten -> sitting: the classic 3
    const kitten = Array.from('kitten', (c) => c.charCodeAt(0));
    const sitting = Array.from('sitting', (c) => c.charCodeAt(0));
    expect(editDistance(kitten, sitting)).toBe(3);
  });

  it('divides total edits by total reference length for the phoneme error rate', () => {
    // 1 substitution over 3 reference phonemes + 2 deletions over 2 reference phonemes = 3 / 5
    expect(phonemeErrorRate([[1, 9, 3], []], [[1, 2, 3], [4, 5]])).toBeCloseTo(0.6, 10);
    expect(phonemeErrorRate([[1, 2]], [[1, 2]])).toBe(0);
    // insertions can push it above 1
    expect(phonemeErrorRate([[1, 1, 1]], [[1]])).toBe(2);
    expect(() => phonemeErrorRate([[1]], [])).toThrow('predicted has 1 sequences but reference has 0');
    expect(() => phonemeErrorRate([[]], [[]])).toThrow('at least one reference token');
  });

  it('counts exact matches', () => {
    expect(exactMatch([[1, 2], [3], [4, 5]], [[1, 2], [3, 3], [4]])).toBeCloseTo(1 / 3, 10);
  });

  it('trims decoded rows at the end token and drops padding', () => {
    expect(trimDecoded([5, 6, 0, 7, 2, 8, 9], 2)).toEqual([5, 6, 7]);
    expect(trimDecoded([5, 6], 2)).toEqual([5, 6]);
    expect(trimDecodedRows(Int32Array.from([5, 2, 0, 6, 7, 2]), 3, 2)).toEqual([[5], [6, 7]]);
  });

  it('measures token accuracy over non-padding targets only', () => {
    expect(tokenAccuracy([1, 2, 3, 9], [1, 2, 4, 0])).toBeCloseTo(2 / 3, 10);
  });
});
