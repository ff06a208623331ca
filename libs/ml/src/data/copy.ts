import type { DatasetSpec, MetricValues } from '@tfleet/contracts';
import type { TaskData } from './dataset';
import { assertFitsInMemory } from './memory-budget';
import { deriveSeed, SeededRandom } from './rng';
import { buildSeq2SeqSplit, seq2seqSpecs, type Seq2SeqPair } from './seq2seq';
import { splitIndices } from './split';

type CopySpec = Extract<DatasetSpec, { name: 'copy' }>;

/** Token ids of the copy task; symbols follow the specials. */
export const COPY_TOKENS = { pad: 0, start: 1, end: 2, blank: 3, recall: 4, firstSymbol: 5 } as const;

/**
 * Copy-memory sample `index` (a pure function of seed and index): the encoder reads
 * `length` random symbols, `delay` blanks and the recall marker; the decoder must then emit
 * the symbols. Framed as seq2seq so the same encoder-decoders as cmudict apply.
 */
function copySample(seed: number, index: number, spec: Pick<CopySpec, 'sequenceLength' | 'delay' | 'symbols'>): Seq2SeqPair {
  const rng = new SeededRandom(deriveSeed(seed, index));
  const symbols = new Int32Array(spec.sequenceLength);
  for (let t = 0; t < symbols.length; t++) symbols[t] = COPY_TOKENS.firstSymbol + rng.int(spec.symbols);
  const source = new Int32Array(spec.sequenceLength + spec.delay + 1).fill(COPY_TOKENS.blank);
  source.set(symbols);
  source[source.length - 1] = COPY_TOKENS.recall;
  return { source, target: symbols };
}

/**
 * Token accuracy (over all non-pad target positions, the end token included) of guessing
 * symbols uniformly but placing the end token right, and the per-symbol chance 1/symbols.
 */
function copyBaselines(spec: Pick<CopySpec, 'sequenceLength' | 'symbols'>): MetricValues {
  const chance = 1 / spec.symbols;
  return {
    baselineTokenAccuracy: (spec.sequenceLength * chance + 1) / (spec.sequenceLength + 1),
    baselineSymbolAccuracy: chance,
  };
}

export function loadCopy(spec: CopySpec): TaskData {
  const encoderLength = spec.sequenceLength + spec.delay + 1;
  const decoderLength = spec.sequenceLength + 1;
  assertFitsInMemory('copy', spec.samples, encoderLength + 2 * decoderLength);
  const indices = splitIndices(spec.samples, spec);
  const seed = deriveSeed(spec.splitSeed, 0xc0b1);
  const layout = { encoderLength, decoderLength, padId: COPY_TOKENS.pad, startId: COPY_TOKENS.start, endId: COPY_TOKENS.end };
  const build = (ids: Int32Array) => buildSeq2SeqSplit(Array.from(ids, (i) => copySample(seed, i, spec)), layout);
  const vocabSize = COPY_TOKENS.firstSymbol + spec.symbols;
  return {
    datasetName: 'copy',
    task: 'seq2seq',
    ...seq2seqSpecs(encoderLength, decoderLength),
    numClasses: vocabSize,
    inputVocabSize: vocabSize,
    padId: COPY_TOKENS.pad,
    startId: COPY_TOKENS.start,
    endId: COPY_TOKENS.end,
    train: build(indices.train),
    validation: build(indices.validation),
    test: build(indices.test),
    artifacts: {},
    baselines: () => copyBaselines(spec),
  };
}
