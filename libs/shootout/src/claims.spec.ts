import { type Claim, evaluateClaim, formatNumber } from './claims';
import { fakeRow } from '@tfleet/testing';

const lowError: Claim = {
  id: 'low',
  statement: 'lstm and gru reach low error',
  checks: ['lstm', 'gru'].map((row) => ({ kind: 'versus-baseline', row, metric: 'mse', baseline: 'baselineMse', relation: 'at-most', fraction: 0.1 })),
};
const nearBaseline: Claim = {
  id: 'near',
  statement: 'simple-rnn stays near the baseline',
  checks: [{ kind: 'versus-baseline', row: 'simple-rnn', metric: 'mse', baseline: 'baselineMse', relation: 'at-least', fraction: 0.5 }],
};
const faster: Claim = {
  id: 'faster',
  statement: 'transformer is faster',
  checks: [{ kind: 'beats', row: 'transformer', others: ['lstm', 'gru'], quantity: { of: 'samplesPerSecond' }, better: 'higher' }],
};
const fewerSamples: Claim = {
  id: 'fewer',
  statement: 'transformer needs fewer samples',
  checks: [{ kind: 'beats', row: 'transformer', others: ['lstm'], quantity: { of: 'samplesToTarget' }, better: 'lower' }],
};
const atLeast: Claim = {
  id: 'cnn-097',
  statement: 'cnn reaches 0.97',
  checks: [{ kind: 'threshold', row: 'cnn', quantity: { of: 'test', metric: 'accuracy' }, relation: 'at-least', value: 0.97 }],
};

const adding = (label: string, mse: number) => fakeRow({ label, test: { mse }, baselines: { baselineMse: 0.1667 } });
const reached = (label: string, samples: number | null) =>
  fakeRow({ label, convergence: samples === null ? null : { epoch: 1, step: samples / 32, samples, trainMs: 1 } });

describe('evaluateClaim', () => {
  it('holds when every check holds, and says so with the numbers', () => {
    const verdict = evaluateClaim(lowError, [adding('lstm', 0.004), adding('gru', 0.0166)]);
    expect(verdict.verdict).toBe('held');
    expect(verdict.checks.map((c) => c.holds)).toEqual([true, true]);
    expect(verdict.checks[0]!.evidence).toBe('lstm: test mse <= 0.1 x baselineMse: 0.00400 <= 0.0167 (baselineMse 0.167)');
  });

  it('is not held when one check fails, naming the failing numbers', () => {
    const verdict = evaluateClaim(lowError, [adding('lstm', 0.004), adding('gru', 0.02)]);
    expect(verdict.verdict).toBe('not held');
    expect(verdict.checks[1]).toEqual({ holds: false, evidence: 'gru: test mse <= 0.1 x baselineMse: 0.0200 > 0.0167 (baselineMse 0.167)' });
  });

  it('reads an at-least bound the other way', () => {
    expect(evaluateClaim(nearBaseline, [adding('simple-rnn', 0.15)]).verdict).toBe('held');
    const failed = evaluateClaim(nearBaseline, [adding('simple-rnn', 0.05)]);
    expect(failed.verdict).toBe('not held');
    expect(failed.checks[0]!.evidence).toContain('0.0500 < 0.0833');
  });

  it('is not measured when a row is missing, failed, or lacks the metric or the baseline, unless another check fails', () => {
    expect(evaluateClaim(lowError, [adding('lstm', 0.004)]).verdict).toBe('not measured');
    expect(evaluateClaim(lowError, [adding('lstm', 0.004), fakeRow({ label: 'gru', error: 'out of memory' })]).checks[1]!.evidence).toContain('the run failed (out of memory)');
    expect(evaluateClaim(lowError, [adding('lstm', 0.004), fakeRow({ label: 'gru', test: { mse: 0.001 } })]).verdict).toBe('not measured');
    expect(evaluateClaim(lowError, [adding('lstm', 0.5)]).verdict).toBe('not held');
  });

  it('compares a quantity across rows in the direction given', () => {
    const rows = [fakeRow({ label: 'transformer', samplesPerSecond: 300 }), fakeRow({ label: 'lstm', samplesPerSecond: 120 }), fakeRow({ label: 'gru', samplesPerSecond: 150 })];
    const held = evaluateClaim(faster, rows);
    expect(held.verdict).toBe('held');
    expect(held.checks[0]!.evidence).toBe('transformer higher training samples/s than lstm, gru: transformer 300, lstm 120, gru 150');
    rows[2] = fakeRow({ label: 'gru', samplesPerSecond: 300 });
    expect(evaluateClaim(faster, rows).verdict).toBe('not held');
  });

  it('counts a run that never reached the target as needing more samples than one that did', () => {
    expect(evaluateClaim(fewerSamples, [reached('transformer', 3200), reached('lstm', null)]).verdict).toBe('held');
    expect(evaluateClaim(fewerSamples, [reached('transformer', null), reached('lstm', 6400)]).verdict).toBe('not held');
    expect(evaluateClaim(fewerSamples, [reached('transformer', 6400), reached('lstm', 3200)]).verdict).toBe('not held');
    const sooner: Claim = { ...fewerSamples, checks: [{ kind: 'beats', row: 'transformer', others: ['lstm'], quantity: { of: 'trainMsToTarget' }, better: 'lower' }] };
    const timed = (label: string, trainMs: number) => fakeRow({ label, convergence: { epoch: 2, step: 500, samples: 16_000, trainMs } });
    const tie = [timed('transformer', 36_800), timed('lstm', 98_000)];
    expect(evaluateClaim(fewerSamples, tie).verdict).toBe('not held');
    expect(evaluateClaim(sooner, tie).checks[0]).toEqual({ holds: true, evidence: 'transformer lower training ms to target than lstm: transformer 36,800, lstm 98,000' });
    expect(evaluateClaim(sooner, [timed('transformer', 36_800), reached('lstm', null)]).verdict).toBe('held');
    const neither = evaluateClaim(fewerSamples, [reached('transformer', null), reached('lstm', null)]);
    expect(neither.verdict).toBe('not measured');
    expect(neither.checks[0]!.evidence).toContain('no run reached the target');
  });

  it('reads the last epoch\'s validation metric when asked', () => {
    const claim: Claim = {
      id: 'ppl',
      statement: 'lstm beats the bigram',
      checks: [{ kind: 'versus-baseline', row: 'lstm', metric: 'perplexity', split: 'validation', baseline: 'validationBigramPerplexity', relation: 'at-most', fraction: 1 }],
    };
    const epochs = [110, 95.5].map((perplexity, i) => ({ epoch: i + 1, step: i + 1, samples: i + 1, trainLoss: null, validation: { perplexity }, wallTimeMs: 1 }));
    const row = fakeRow({ label: 'lstm', test: { perplexity: 130 }, baselines: { validationBigramPerplexity: 100 }, epochs });
    const verdict = evaluateClaim(claim, [row]);
    expect(verdict.verdict).toBe('held');
    expect(verdict.checks[0]!.evidence).toBe('lstm: validation perplexity <= 1 x validationBigramPerplexity: 95.50 <= 100 (validationBigramPerplexity 100)');
    expect(evaluateClaim(claim, [{ ...row, epochs: [] }]).checks[0]!.evidence).toContain('no validation perplexity');
  });

  it('checks a fixed threshold', () => {
    expect(evaluateClaim(atLeast, [fakeRow({ label: 'cnn', test: { accuracy: 0.971 } })]).verdict).toBe('held');
    const short = evaluateClaim(atLeast, [fakeRow({ label: 'cnn', test: { accuracy: 0.965 } })]);
    expect(short.verdict).toBe('not held');
    expect(short.checks[0]!.evidence).toBe('cnn: test accuracy >= 0.970: 0.965');
  });
});

describe('formatNumber', () => {
  it('keeps about four significant digits and groups thousands', () => {
    expect(formatNumber(17217)).toBe('17,217');
    expect(formatNumber(1234.56)).toBe('1,235');
    expect(formatNumber(122.14)).toBe('122.1');
    expect(formatNumber(12.345)).toBe('12.35');
    expect(formatNumber(0.97123)).toBe('0.971');
    expect(formatNumber(0.000123456)).toBe('0.000123');
  });
});
