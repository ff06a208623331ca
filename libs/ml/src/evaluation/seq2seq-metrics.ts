import type * as tf from '@tensorflow/tfjs';
import type { DataSplit, TaskInfo } from '../data/dataset';
import { exactMatch, phonemeErrorRate, trimDecodedRows } from '../data/sequence-metrics';
import { decodeSequences, type DecodeOptions } from './decode';

export interface DecodedMetrics {
  /** Of the reference tokens, the fraction the decoded output has at the same position. */
  decodedTokenAccuracy: number;
  /** Fraction of samples decoded exactly. */
  exactMatch: number;
  /** Total edit distance over total reference length (phoneme error rate on cmudict). */
  phonemeErrorRate: number;
  samples: number;
}

/**
 * Decodes the first `limit` samples of a seq2seq split (free-running, no teacher forcing) and
 * scores them against the targets: exact match, phoneme (token) error rate, and positional
 * token accuracy of the decoded output.
 */
export async function evaluateDecoding(
  model: tf.LayersModel,
  info: TaskInfo,
  split: DataSplit,
  options: DecodeOptions & { limit?: number } = {},
): Promise<DecodedMetrics> {
  if (info.endId === undefined) throw new Error('decoded metrics need an endId in the task info');
  const encoderLength = info.inputSpecs[0].shape[0];
  const decoderLength = info.targetSpec.shape[0];
  const samples = Math.min(split.size, options.limit ?? split.size);
  if (samples === 0) throw new Error('decoded metrics need at least one sample');
  const sources = (split.inputs[0] as Int32Array).subarray(0, samples * encoderLength);
  const predicted = await decodeSequences(model, info, sources, options);
  const references = trimDecodedRows(split.target.subarray(0, samples * decoderLength), decoderLength, info.endId, info.padId ?? 0);
  return {
    decodedTokenAccuracy: positionalAccuracy(predicted, references),
    exactMatch: exactMatch(predicted, references),
    phonemeErrorRate: phonemeErrorRate(predicted, references),
    samples,
  };
}

function positionalAccuracy(predicted: readonly number[][], references: readonly number[][]): number {
  let hits = 0;
  let total = 0;
  references.forEach((reference, i) => {
    total += reference.length;
    reference.forEach((id, t) => {
      if (predicted[i][t] === id) hits++;
    });
  });
  return total === 0 ? 0 : hits / total;
}
