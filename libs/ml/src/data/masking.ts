import type { SeededRandom } from './rng';

export interface MaskingOptions {
  /** Probability that each eligible token is chosen for prediction (BERT: 0.15). */
  maskRate: number;
  maskId: number;
  padId: number;
  /** Ids in [0, vocabSize) are valid. */
  vocabSize: number;
  /** Ids never chosen and never used as random replacements; padId and maskId always are. */
  protectedIds?: readonly number[];
}

export interface MaskedBatch {
  /** The tokens with the chosen positions replaced (80% mask, 10% random, 10% kept). */
  inputs: Int32Array;
  /** The original tokens at every position (only weighted positions count). */
  targets: Int32Array;
  /** 1 at chosen positions, 0 elsewhere: multiply the per-token loss by it. */
  weights: Float32Array;
  /** Number of chosen positions (the loss normaliser). */
  chosen: number;
}

/**
 * BERT's masked-language-model corruption of a batch of token ids (any shape, flattened).
 * Each eligible position is chosen with probability maskRate; a chosen token becomes the mask
 * id 80% of the time, a uniformly random non-protected id 10%, and stays itself 10%, so the
 * model cannot learn that only mask positions matter. Deterministic for the rng's state.
 */
export function maskTokens(tokens: Int32Array, options: MaskingOptions, rng: SeededRandom): MaskedBatch {
  const { maskRate, maskId, padId, vocabSize } = options;
  if (!(maskRate > 0 && maskRate < 1)) throw new Error('masking maskRate must be in (0, 1)');
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new Error('masking vocabSize must be a positive integer');
  const protectedIds = new Set([padId, maskId, ...(options.protectedIds ?? [])]);
  const replacements: number[] = [];
  for (let id = 0; id < vocabSize; id++) if (!protectedIds.has(id)) replacements.push(id);
  if (replacements.length === 0) throw new Error('masking needs at least one id that is not protected');

  const inputs = Int32Array.from(tokens);
  const weights = new Float32Array(tokens.length);
  let chosen = 0;
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i]!;
    if (id < 0 || id >= vocabSize) throw new Error(`token id ${id} is outside [0, ${vocabSize})`);
    if (protectedIds.has(id) || rng.next() >= maskRate) continue;
    weights[i] = 1;
    chosen++;
    const roll = rng.next();
    if (roll < 0.8) inputs[i] = maskId;
    else if (roll < 0.9) inputs[i] = replacements[rng.int(replacements.length)]!;
  }
  return { inputs, targets: Int32Array.from(tokens), weights, chosen };
}
