import type { DataSplit, SampleSpec } from './dataset';

/**
 * The layout every sequence-to-sequence task uses (cmudict, copy), so one encoder-decoder
 * builder fits all of them:
 * - inputs[0] `encoderTokens` [encoderLength]: source ids, right-padded with padId;
 * - inputs[1] `decoderTokens` [decoderLength]: startId, then the target ids (teacher forcing);
 * - target `targetTokens` [decoderLength]: the target ids, then endId, right-padded.
 * decoderLength = longest target + 1.
 */
export function seq2seqSpecs(encoderLength: number, decoderLength: number): { inputSpecs: SampleSpec[]; targetSpec: SampleSpec } {
  return {
    inputSpecs: [
      { name: 'encoderTokens', shape: [encoderLength], dtype: 'int32' },
      { name: 'decoderTokens', shape: [decoderLength], dtype: 'int32' },
    ],
    targetSpec: { name: 'targetTokens', shape: [decoderLength], dtype: 'int32' },
  };
}

export interface Seq2SeqPair {
  source: ArrayLike<number>;
  target: ArrayLike<number>;
}

export interface Seq2SeqLayout {
  encoderLength: number;
  decoderLength: number;
  padId: number;
  startId: number;
  endId: number;
}

export function buildSeq2SeqSplit(pairs: readonly Seq2SeqPair[], layout: Seq2SeqLayout): DataSplit {
  const { encoderLength, decoderLength, padId, startId, endId } = layout;
  const size = pairs.length;
  const encoder = new Int32Array(size * encoderLength).fill(padId);
  const decoder = new Int32Array(size * decoderLength).fill(padId);
  const target = new Int32Array(size * decoderLength).fill(padId);
  pairs.forEach(({ source, target: output }, i) => {
    if (source.length > encoderLength) throw new Error(`source sequence of ${source.length} exceeds encoder length ${encoderLength}`);
    if (output.length + 1 > decoderLength) throw new Error(`target sequence of ${output.length} exceeds decoder length ${decoderLength} - 1`);
    encoder.set(source, i * encoderLength);
    decoder[i * decoderLength] = startId;
    decoder.set(output, i * decoderLength + 1);
    target.set(output, i * decoderLength);
    target[i * decoderLength + output.length] = endId;
  });
  return { size, inputs: [encoder, decoder], target };
}
