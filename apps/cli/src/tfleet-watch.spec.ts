import { etaSeconds, progressLine, summaryLine } from './tfleet-watch';
import type { ExperimentShape } from './tfleet-shapes';

const view = (over: Partial<ExperimentShape>): ExperimentShape => ({
  id: '0123456789abcdef-0000-0000-0000-000000000000',
  name: 'run',
  status: 'running',
  dataset: 'mnist',
  family: 'cnn',
  spec: { training: { batchSize: 64 } },
  progress: { epoch: 1, epochs: 4, step: 25, totalSteps: 100, loss: 0.51234, samplesPerSecond: 1600 },
  attempt: 1,
  metrics: null,
  steps: null,
  epochs: null,
  samplesPerSecond: null,
  wallTimeMs: null,
  error: null,
  createdAt: '2026-12-05T10:00:00.000Z',
  startedAt: null,
  finishedAt: null,
  boardKey: 'mnist-x',
  runtime: null,
  ...over,
});

describe('progress text', () => {
  it('estimates the time left from the remaining steps, the batch and samples/s', () => {
    // 75 steps x 64 samples at 1,600 samples/s = 3 s.
    expect(etaSeconds(view({}))).toBe(3);
    expect(etaSeconds(view({ progress: null }))).toBeNull();
    expect(progressLine(view({}))).toBe('01234567 run: running, epoch 1/4, step 25/100 (25%), loss 0.5123, 1,600 samples/s, ETA 3s');
  });

  it('sums up a finished run in one line', () => {
    expect(summaryLine(view({ status: 'completed', progress: null, metrics: { accuracy: 0.97512, loss: 0.08 }, wallTimeMs: 65_000, samplesPerSecond: 1234.4 }))).toBe(
      '0123456789abcdef-0000-0000-0000-000000000000 completed, test accuracy=0.9751, loss=0.08, 1m05s, 1,234 samples/s',
    );
    expect(summaryLine(view({ status: 'failed', progress: null, error: 'out of memory' }))).toBe('0123456789abcdef-0000-0000-0000-000000000000 failed, error: out of memory');
  });
});
