import { cmudictDatasetSchema } from '@tfleet/contracts';
import { cmudictBaselines, loadCmudict, readCmudictEntries } from './cmudict';
import { Vocabulary } from './tokenizer';

describe('cmudict', () => {
  const spec = cmudictDatasetSchema.parse({ name: 'cmudict', samples: 2_000, maxWordLength: 10 });
  const data = loadCmudict(spec);
  const letters = Vocabulary.fromJSON(data.artifacts['inputVocabulary']);
  const phonemes = Vocabulary.fromJSON(data.artifacts['outputVocabulary']);

  it('reads words of letters and apostrophes with stress-free phonemes', () => {
    const entries = readCmudictEntries();
    expect(entries.length).toBeGreaterThan(120_000);
    const aardvark = entries.find((e) => e.spelling === 'aardvark');
    expect(aardvark?.phonemes).toEqual(['AA', 'R', 'D', 'V', 'AA', 'R', 'K']);
    expect(entries.every((e) => /^[a-z']+$/.test(e.spelling) && e.phonemes.every((p) => /^[A-Z]+$/.test(p)))).toBe(true);
  });

  it('lays samples out as encoder tokens, start + phonemes, phonemes + end', () => {
    expect(data.task).toBe('seq2seq');
    expect(data.inputSpecs.map((s) => [s.name, s.shape])).toEqual([
      ['encoderTokens', [10]],
      ['decoderTokens', [11]],
    ]);
    expect(data.targetSpec.shape).toEqual([11]);
    expect(data.train.size + data.validation.size + data.test.size).toBe(2_000);
    expect(data.inputVocabSize).toBe(letters.size);
    expect(data.numClasses).toBe(phonemes.size);
    expect(phonemes.token(data.startId!)).toBe('<bos>');
    expect(phonemes.token(data.endId!)).toBe('<eos>');
    const [encoder, decoder] = data.train.inputs as Int32Array[];
    const target = data.train.target as Int32Array;
    for (let i = 0; i < data.train.size; i++) {
      const row = (a: Int32Array, w: number) => Array.from(a.subarray(i * w, i * w + w));
      const word = row(encoder!, 10).filter((id) => id !== 0);
      const out = row(target, 11);
      const end = out.indexOf(data.endId!);
      expect(end).toBeGreaterThan(0);
      expect(out.slice(end + 1).every((id) => id === 0)).toBe(true);
      expect(row(decoder!, 11)).toEqual([data.startId, ...out.slice(0, end), ...new Array<number>(10 - end).fill(0)]);
      expect(word.length).toBeGreaterThan(0);
    }
    // A decoded example reads as a pronunciation.
    const first = letters.decode(Array.from(encoder!.subarray(0, 10)).filter((id) => id !== 0)).join('');
    expect(first).toMatch(/^[a-z']+$/);
  });

  it('builds both vocabularies from the training words', () => {
    const seenLetters = new Set(data.train.inputs[0]);
    for (let id = letters.specials; id < letters.size; id++) expect(seenLetters.has(id)).toBe(true);
    expect(phonemes.size).toBeLessThanOrEqual(4 + 39);
    expect(phonemes.size).toBeGreaterThan(4 + 30);
  });

  it('is deterministic for a spec', () => {
    const again = loadCmudict(spec);
    expect(Array.from(again.test.inputs[0]!)).toEqual(Array.from(data.test.inputs[0]!));
    expect(Array.from(again.test.target)).toEqual(Array.from(data.test.target));
    expect(again.baselines()).toEqual(data.baselines());
  });

  it('reports a letter-by-letter baseline well above zero and below the majority guess', () => {
    const b = data.baselines();
    expect(b['baselinePhonemeErrorRate']).toBeGreaterThan(0.2);
    expect(b['baselinePhonemeErrorRate']).toBeLessThan(0.8);
    expect(b['majorityPhonemeErrorRate']).toBeGreaterThan(b['baselinePhonemeErrorRate']!);
  });

  it('scores a letter-aligned toy dictionary exactly', () => {
    const train = [
      { spelling: 'ab', phonemes: ['A', 'B'] },
      { spelling: 'ba', phonemes: ['B', 'A'] },
    ];
    const b = cmudictBaselines(train, [
      { spelling: 'aab', phonemes: ['A', 'B'] },
      { spelling: 'b', phonemes: ['B', 'X'] },
    ]);
    // "aab" -> A A B collapsed to A B (exact); "b" -> B vs B X (1 edit); 1 edit / 4 phonemes
    expect(b['baselinePhonemeErrorRate']).toBeCloseTo(0.25, 10);
    expect(b['baselineExactMatch']).toBeCloseTo(0.5, 10);
  });
});
