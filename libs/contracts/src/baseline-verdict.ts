import type { MetricValues } from './queue';

/**
 * Which final test metric is held against which of the data set's baselines, and which way
 * is better. The baselines are the trivial predictors each loader computes on the same split:
 * the majority class (classification), the add-one unigram model (language modelling), the
 * constant mean (regression), the most frequent phoneme (cmudict), chance symbols (copy).
 * The first pair whose two values are both present decides.
 */
export const BASELINE_RULES: readonly BaselineRule[] = [
  { metric: 'accuracy', baseline: 'majorityAccuracy', higherIsBetter: true },
  { metric: 'perplexity', baseline: 'unigramPerplexity', higherIsBetter: false },
  { metric: 'mse', baseline: 'baselineMse', higherIsBetter: false },
  { metric: 'phonemeErrorRate', baseline: 'majorityPhonemeErrorRate', higherIsBetter: false },
  { metric: 'tokenAccuracy', baseline: 'baselineTokenAccuracy', higherIsBetter: true },
];

export interface BaselineRule {
  metric: string;
  baseline: string;
  higherIsBetter: boolean;
}

/** A run's final metric beside its data set's baseline. */
export interface BaselineComparison {
  metric: string;
  value: number;
  baselineName: string;
  baseline: number;
  /** True when the run ends no better than the trivial predictor: it learned nothing usable. */
  belowBaseline: boolean;
}

/** The comparison of `test` with `baselines`, or null when no rule applies (no baseline known). */
export function compareWithBaseline(test: MetricValues | null | undefined, baselines: MetricValues | null | undefined): BaselineComparison | null {
  if (!test || !baselines) return null;
  for (const rule of BASELINE_RULES) {
    const value = test[rule.metric];
    const baseline = baselines[rule.baseline];
    if (typeof value !== 'number' || typeof baseline !== 'number' || !Number.isFinite(baseline)) continue;
    // A non-finite metric (NaN accuracy, infinite perplexity) is no better than anything.
    const belowBaseline = !Number.isFinite(value) || (rule.higherIsBetter ? value <= baseline : value >= baseline);
    return { metric: rule.metric, value, baselineName: rule.baseline, baseline, belowBaseline };
  }
  return null;
}
