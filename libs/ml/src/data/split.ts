import type { DataSplit, SampleArray } from './dataset';
import { seededPermutation } from './rng';

export interface SplitFractions {
  validationFraction: number;
  testFraction: number;
  splitSeed: number;
}

export interface SplitIndices {
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
}

/**
 * Shuffles 0..n-1 with the split seed, keeps the first `take` (a random subset when smaller
 * than n) and cuts them into test, validation and train.
 */
export function splitIndices(n: number, fractions: SplitFractions, take = n): SplitIndices {
  const order = seededPermutation(n, fractions.splitSeed).subarray(0, Math.min(take, n));
  n = order.length;
  const nTest = Math.round(n * fractions.testFraction);
  const nValidation = Math.round(n * fractions.validationFraction);
  return {
    test: order.slice(0, nTest),
    validation: order.slice(nTest, nTest + nValidation),
    train: order.slice(nTest + nValidation),
  };
}

/** Copies the samples at `indices` (each `width` values long) into a new array of the same type. */
function gatherSamples<T extends SampleArray>(source: T, width: number, indices: ArrayLike<number>): T {
  const out = new (source.constructor as new (n: number) => T)(indices.length * width);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i]! * width;
    out.set(source.subarray(from, from + width), i * width);
  }
  return out;
}

/** Builds a split from full-data arrays and the chosen sample indices. */
export function selectSplit(
  inputs: readonly { data: SampleArray; width: number }[],
  target: { data: SampleArray; width: number },
  indices: ArrayLike<number>,
): DataSplit {
  return {
    size: indices.length,
    inputs: inputs.map((input) => gatherSamples(input.data, input.width, indices)),
    target: gatherSamples(target.data, target.width, indices),
  };
}
