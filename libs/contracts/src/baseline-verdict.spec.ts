import { compareWithBaseline } from './baseline-verdict';

describe('compareWithBaseline', () => {
  it.each([
    ['a classifier at the majority class', { accuracy: 0.25, loss: 2 }, { majorityAccuracy: 0.25 }, 'accuracy', true],
    ['a collapsed classifier', { accuracy: 0.135 }, { majorityAccuracy: 0.1135 + 0.05 }, 'accuracy', true],
    ['a classifier that learned', { accuracy: 0.75 }, { majorityAccuracy: 0.25 }, 'accuracy', false],
    ['a language model at the unigram perplexity', { perplexity: 23.5, accuracy: 0.4 }, { unigramPerplexity: 23.4, bigramPerplexity: 17 }, 'perplexity', true],
    ['a language model below it', { perplexity: 12 }, { unigramPerplexity: 23.4 }, 'perplexity', false],
    ['a regressor no better than the mean', { mse: 0.171, loss: 0.171 }, { baselineMse: 0.171 }, 'mse', true],
    ['a regressor that learned', { mse: 0.001 }, { baselineMse: 0.171 }, 'mse', false],
    ['cmudict worse than the most frequent phoneme', { phonemeErrorRate: 0.5, tokenAccuracy: 0.4 }, { majorityPhonemeErrorRate: 0.464 }, 'phonemeErrorRate', true],
    ['copy at chance', { tokenAccuracy: 0.3 }, { baselineTokenAccuracy: 0.375, baselineSymbolAccuracy: 0.25 }, 'tokenAccuracy', true],
  ])('%s', (_name, test, baselines, metric, below) => {
    expect(compareWithBaseline(test, baselines)).toMatchObject({ metric, belowBaseline: below, value: test[metric as keyof typeof test], baseline: expect.any(Number) });
  });

  it('is null when no baseline applies or a side is missing', () => {
    expect(compareWithBaseline({ accuracy: 0.9 }, { bigramInterpolation: 0.7 })).toBeNull();
    expect(compareWithBaseline(null, { majorityAccuracy: 0.1 })).toBeNull();
    expect(compareWithBaseline({ accuracy: 0.9 }, null)).toBeNull();
  });
});
