import { brownDatasetSchema } from '@tfleet/contracts';
import { loadBrown, ngramBaselines, parseBrownDocument, windowedLanguageModelSplit } from './brown';
import { Vocabulary } from './tokenizer';

describe('brown', () => {
  const spec = brownDatasetSchema.parse({ name: 'brown', sequenceLength: 16, vocabSize: 300, maxTokens: 8_000 });
  const data = loadBrown(spec);

  it('parses tagged sentences, keeping slashes inside words', () => {
    expect(parseBrownDocument('\n\n\tThe/at 1/2/cd cup/nn ./.\n\n\tOk/uh\n')).toEqual([['The', '1/2', 'cup', '.'], ['Ok']]);
  });

  it('has next-token windows of sequenceLength int32 ids', () => {
    expect(data.task).toBe('language-modelling');
    expect(data.inputSpecs).toEqual([{ name: 'tokens', shape: [16], dtype: 'int32' }]);
    expect(data.targetSpec).toEqual({ name: 'nextTokens', shape: [16], dtype: 'int32' });
    expect(data.train.size).toBe(Math.floor((8_000 - 1) / 16));
    expect(data.validation.size).toBeGreaterThan(0);
    expect(data.test.size).toBeGreaterThan(0);
    const input = data.train.inputs[0]!;
    const target = data.train.target;
    // Each target row is its input row shifted by one; the next row starts where it ends.
    const expectedTarget = Array.from(input.subarray(1));
    expect(Array.from(target.subarray(0, target.length - 1))).toEqual(expectedTarget);
    for (const split of [data.train, data.validation, data.test]) {
      expect(split.inputs[0]!.every((id) => id >= 1 && id < data.numClasses)).toBe(true);
    }
  });

  it('reserves <pad>=0 and a <mask> id and ships the tokenizer as an artifact', () => {
    expect(data.padId).toBe(0);
    expect(data.maskId).toBe(4);
    expect(data.numClasses).toBe(300);
    expect(data.inputVocabSize).toBe(300);
    const vocabulary = Vocabulary.fromJSON((data.artifacts['tokenizer'] as { vocabulary: unknown }).vocabulary);
    expect(vocabulary.token(data.maskId!)).toBe('<mask>');
    expect(vocabulary.token(data.endId!)).toBe('<eos>');
    expect(vocabulary.has('the')).toBe(true);
  });

  it('builds the vocabulary from the training split only', () => {
    // Built with minCount 1 from the training stream, so every ordinary id occurs in training;
    // a vocabulary that also counted held-out text would have ids seen only there.
    const seen = new Set([...data.train.inputs[0]!, ...data.train.target]);
    for (let id = 5; id < data.numClasses; id++) expect(seen.has(id)).toBe(true);
    const unk = 1;
    const testUnk = data.test.target.filter((id) => id === unk).length / data.test.target.length;
    expect(testUnk).toBeGreaterThan(0.05);
  });

  it('is deterministic for a spec and changes with the split seed', () => {
    const again = loadBrown(spec);
    expect(Array.from(again.test.target)).toEqual(Array.from(data.test.target));
    expect(again.artifacts).toEqual(data.artifacts);
    const other = loadBrown({ ...spec, splitSeed: 7 });
    expect(Array.from(other.test.target)).not.toEqual(Array.from(data.test.target));
  });

  it('reports unigram and bigram perplexities with the bigram one lower', () => {
    const b = data.baselines();
    expect(Number.isFinite(b['unigramPerplexity'])).toBe(true);
    expect(b['unigramPerplexity']).toBeGreaterThan(10);
    expect(b['unigramPerplexity']).toBeLessThan(300);
    expect(b['bigramPerplexity']).toBeLessThan(b['unigramPerplexity']!);
    expect(b['bigramPerplexity']).toBeGreaterThan(1);
    expect(b['validationBigramPerplexity']).toBeLessThan(b['validationUnigramPerplexity']!);
    expect(b['validationUnigramPerplexity']).toBeGreaterThan(10);
  });

  it('supports character level with a small vocabulary that keeps case', () => {
    const chars = loadBrown({ ...spec, level: 'char' });
    const vocabulary = Vocabulary.fromJSON((chars.artifacts['tokenizer'] as { vocabulary: unknown }).vocabulary);
    expect(vocabulary.has('T')).toBe(true);
    expect(vocabulary.has(' ')).toBe(true);
    expect(chars.numClasses).toBeLessThanOrEqual(300);
    expect(chars.numClasses).toBeGreaterThan(40);
    const b = chars.baselines();
    expect(b['bigramPerplexity']).toBeLessThan(b['unigramPerplexity']!);
  });
});

describe('ngramBaselines', () => {
  it('matches hand-computed add-one unigram and interpolated bigram perplexities', () => {
    // vocabulary: 0 pad, then ids 1..3 predictable; training stream 1 2 1 2 1 3
    const train = Int32Array.from([1, 2, 1, 2, 1, 3]);
    const test = windowedLanguageModelSplit(Int32Array.from([1, 2, 3]), 2);
    const empty = { size: 0, inputs: [new Int32Array(0)], target: new Int32Array(0) };
    const b = ngramBaselines(train, empty, test, 4, 3);
    expect(b['validationBigramPerplexity']).toBeUndefined();
    // unigram: p(w) = (count + 1) / (6 + 3): p(2) = 3/9, p(3) = 2/9
    expect(b['unigramPerplexity']).toBeCloseTo(Math.exp(-(Math.log(3 / 9) + Math.log(2 / 9)) / 2), 10);
    // bigram, lambda 0.7 without validation data: p(2|1) = 0.7 * 2/3 + 0.3 * 3/9; p(3|2) = 0.7 * 0 + 0.3 * 2/9
    const p2 = 0.7 * (2 / 3) + 0.3 * (3 / 9);
    const p3 = 0.3 * (2 / 9);
    expect(b['bigramPerplexity']).toBeCloseTo(Math.exp(-(Math.log(p2) + Math.log(p3)) / 2), 10);
    expect(b.bigramInterpolation).toBe(0.7);
  });
});
