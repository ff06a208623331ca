import { maskTokens } from './masking';
import { SeededRandom } from './rng';

describe('maskTokens', () => {
  const vocabSize = 100;
  const maskId = 4;
  // Positions 0..9 of every row of 50 are padding; the rest are ordinary ids.
  const tokens = Int32Array.from({ length: 40_000 }, (_, i) => (i % 50 < 10 ? 0 : 5 + (i % 90)));
  const options = { maskRate: 0.15, maskId, padId: 0, vocabSize, protectedIds: [1, 2, 3] };

  it('chooses about maskRate of the eligible tokens and follows the 80/10/10 rule', () => {
    const batch = maskTokens(tokens, options, new SeededRandom(7));
    const eligible = tokens.filter((t) => t !== 0).length;
    expect(batch.chosen / eligible).toBeCloseTo(0.15, 2);
    let masked = 0;
    let kept = 0;
    let replaced = 0;
    for (let i = 0; i < tokens.length; i++) {
      if (batch.weights[i] === 0) {
        expect(batch.inputs[i]).toBe(tokens[i]);
        continue;
      }
      if (batch.inputs[i] === maskId) masked++;
      else if (batch.inputs[i] === tokens[i]) kept++;
      else {
        replaced++;
        expect([0, 1, 2, 3, maskId]).not.toContain(batch.inputs[i]);
      }
    }
    expect(masked / batch.chosen).toBeCloseTo(0.8, 1);
    // A random replacement may draw the original id (1 in 95), so "kept" is slightly above 10%.
    expect(kept / batch.chosen).toBeGreaterThan(0.08);
    expect(kept / batch.chosen).toBeLessThan(0.125);
    expect(replaced / batch.chosen).toBeGreaterThan(0.08);
    expect(replaced / batch.chosen).toBeLessThan(0.12);
    expect(Array.from(batch.targets)).toEqual(Array.from(tokens));
  });

  it('never chooses padding or protected ids', () => {
    const withSpecials = Int32Array.from({ length: 5_000 }, (_, i) => i % 4);
    const batch = maskTokens(withSpecials, { ...options, maskRate: 0.5 }, new SeededRandom(1));
    expect(batch.chosen).toBe(0);
    expect(Array.from(batch.inputs)).toEqual(Array.from(withSpecials));
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = maskTokens(tokens, options, new SeededRandom(3));
    const b = maskTokens(tokens, options, new SeededRandom(3));
    const c = maskTokens(tokens, options, new SeededRandom(4));
    expect(Array.from(a.inputs)).toEqual(Array.from(b.inputs));
    expect(Array.from(a.weights)).toEqual(Array.from(b.weights));
    expect(Array.from(a.weights)).not.toEqual(Array.from(c.weights));
  });

  it('rejects bad options and out-of-range ids', () => {
    expect(() => maskTokens(tokens, { ...options, maskRate: 0 }, new SeededRandom(1))).toThrow('maskRate must be in (0, 1)');
    expect(() => maskTokens(Int32Array.from([7, 120]), options, new SeededRandom(1))).toThrow('token id 120 is outside [0, 100)');
  });
});
