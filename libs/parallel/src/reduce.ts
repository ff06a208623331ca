/**
 * Element-wise sum of `sources[0..n)` over `[lo, hi)` into `target`, always in rank order and
 * accumulated in float64, then rounded once to float32. Every transport reduces through this
 * function, so threads, processes and a sequential reference give bit-identical sums.
 * `targetOffset` shifts where the sums land in `target`.
 */
export function sumInRankOrder(
  sources: readonly Float32Array[],
  target: Float32Array,
  lo: number,
  hi: number,
  targetOffset = 0,
): void {
  const count = sources.length;
  if (count === 0) throw new Error('sumInRankOrder needs at least one source');
  if (count === 2) {
    // The common case gets its own loop: no inner loop over ranks.
    const a = sources[0]!;
    const b = sources[1]!;
    for (let i = lo; i < hi; i++) target[i - lo + targetOffset] = a[i]! + b[i]!;
    return;
  }
  for (let i = lo; i < hi; i++) {
    let sum = sources[0]![i]!;
    for (let r = 1; r < count; r++) sum += sources[r]![i]!;
    target[i - lo + targetOffset] = sum;
  }
}

/** The slice `[lo, hi)` of a vector of `length` elements that `rank` reduces; slices tile the vector. */
export function ownedRange(rank: number, worldSize: number, length: number): { lo: number; hi: number } {
  return {
    lo: Math.floor((rank * length) / worldSize),
    hi: Math.floor(((rank + 1) * length) / worldSize),
  };
}
