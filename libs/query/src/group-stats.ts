export interface GroupStats {
  n: number;
  mean: number;
  /** Sample standard deviation (Bessel's n - 1 denominator); null when n < 2, where it is undefined. */
  std: number | null;
  min: number;
  max: number;
}

/**
 * n, mean, sample standard deviation, min and max of a group's values (e.g. one metric over
 * seeds). Two passes (the mean, then the squared deviations from it), which keeps the deviation
 * exact for values far from zero. Throws on an empty group or a non-finite value.
 */
export function groupStats(values: readonly number[]): GroupStats {
  if (values.length === 0) throw new RangeError('groupStats: no values');
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    if (!Number.isFinite(value)) throw new RangeError(`groupStats: ${value} is not a finite number`);
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const n = values.length;
  const mean = sum / n;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return { n, mean, std: n < 2 ? null : Math.sqrt(squares / (n - 1)), min, max };
}
