import * as tf from '@tensorflow/tfjs';
import type { DataSplit, SampleSpec } from '../data/dataset';
import { sampleSize } from '../data/dataset';
import { deriveSeed, seededPermutation } from '../data/rng';

export interface Batch {
  inputs: tf.Tensor[];
  target: tf.Tensor;
}

/** Copies the samples at `indices` out of a split into batch tensors. */
export function gatherBatch(split: DataSplit, inputSpecs: readonly SampleSpec[], targetSpec: SampleSpec, indices: ArrayLike<number>): Batch {
  const take = (source: Float32Array | Int32Array, spec: SampleSpec): tf.Tensor => {
    const width = sampleSize(spec);
    const out = spec.dtype === 'int32' ? new Int32Array(indices.length * width) : new Float32Array(indices.length * width);
    for (let i = 0; i < indices.length; i++) {
      const from = indices[i]! * width;
      out.set(source.subarray(from, from + width), i * width);
    }
    return tf.tensor(out, [indices.length, ...spec.shape], spec.dtype);
  };
  return {
    inputs: inputSpecs.map((spec, k) => take(split.inputs[k]!, spec)),
    target: take(split.target, targetSpec),
  };
}

/**
 * The data order of an epoch: a permutation that depends only on the seed and the epoch, so
 * any number of ranks sees the same samples in the same global batches.
 */
export function epochOrder(trainSize: number, seed: number, epoch: number): Int32Array {
  return seededPermutation(trainSize, deriveSeed(seed, 0x5eed, epoch));
}

/** Rank `rank`'s contiguous share of `count` items split over `worldSize` ranks. */
export function shardRange(count: number, rank: number, worldSize: number): { start: number; end: number } {
  return { start: Math.floor((count * rank) / worldSize), end: Math.floor((count * (rank + 1)) / worldSize) };
}
