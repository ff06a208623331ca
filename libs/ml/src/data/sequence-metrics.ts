/**
 * Metrics over decoded token sequences (seq2seq evaluation: cmudict, copy). Sequences are
 * plain id lists with start, end and padding already removed (see {@link trimDecoded}).
 */

/** Levenshtein distance (unit cost insert, delete, substitute) between two id sequences. */
export function editDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let previous = new Int32Array(b.length + 1);
  let current = new Int32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const substitute = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(substitute, previous[j]! + 1, current[j - 1]! + 1);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}

function assertPaired(predicted: readonly ArrayLike<number>[], reference: readonly ArrayLike<number>[]): void {
  if (predicted.length !== reference.length) {
    throw new Error(`predicted has ${predicted.length} sequences but reference has ${reference.length}`);
  }
}

/**
 * Phoneme (token) error rate over a corpus: total edit distance divided by total reference
 * length, the usual corpus-level definition (long words weigh more than short ones).
 */
export function phonemeErrorRate(predicted: readonly ArrayLike<number>[], reference: readonly ArrayLike<number>[]): number {
  assertPaired(predicted, reference);
  let edits = 0;
  let length = 0;
  for (let i = 0; i < reference.length; i++) {
    edits += editDistance(predicted[i]!, reference[i]!);
    length += reference[i]!.length;
  }
  if (length === 0) throw new Error('phonemeErrorRate needs at least one reference token');
  return edits / length;
}

/** Fraction of sequences predicted exactly. */
export function exactMatch(predicted: readonly ArrayLike<number>[], reference: readonly ArrayLike<number>[]): number {
  assertPaired(predicted, reference);
  if (reference.length === 0) return 0;
  let hits = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = predicted[i]!;
    const r = reference[i]!;
    let same = p.length === r.length;
    for (let t = 0; same && t < r.length; t++) same = p[t] === r[t];
    if (same) hits++;
  }
  return hits / reference.length;
}

/**
 * The tokens of a decoded or target row up to (not including) the first `endId`, padding
 * dropped: what {@link phonemeErrorRate} and {@link exactMatch} compare.
 */
export function trimDecoded(row: ArrayLike<number>, endId: number, padId = 0): number[] {
  const out: number[] = [];
  for (let t = 0; t < row.length; t++) {
    const id = row[t]!;
    if (id === endId) break;
    if (id !== padId) out.push(id);
  }
  return out;
}

/** Splits a flat [rows * width] id array into trimmed rows. */
export function trimDecodedRows(flat: ArrayLike<number>, width: number, endId: number, padId = 0): number[][] {
  const rows: number[][] = [];
  for (let start = 0; start + width <= flat.length; start += width) {
    rows.push(trimDecoded(Array.prototype.slice.call(flat, start, start + width) as number[], endId, padId));
  }
  return rows;
}

/** Accuracy over target positions that are not padding (teacher-forced token accuracy). */
export function tokenAccuracy(predicted: ArrayLike<number>, target: ArrayLike<number>, padId = 0): number {
  if (predicted.length !== target.length) {
    throw new Error(`predicted has ${predicted.length} tokens but target has ${target.length}`);
  }
  let counted = 0;
  let hits = 0;
  for (let i = 0; i < target.length; i++) {
    if (target[i] === padId) continue;
    counted++;
    if (predicted[i] === target[i]) hits++;
  }
  return counted === 0 ? 0 : hits / counted;
}
