import { etaSeconds, queueProgressEventSchema } from './live-messages';

const progress = { epoch: 1, epochs: 2, step: 40, totalSteps: 100, loss: 0.5, samplesPerSecond: 320 };

describe('live progress messages', () => {
  it('estimates the time left from the steps still to run, the global batch and samples/s', () => {
    // 60 steps × 32 samples at 320 samples/s.
    expect(etaSeconds(progress, 32)).toBe(6);
    expect(etaSeconds({ ...progress, step: 100 }, 32)).toBe(0);
    expect(etaSeconds({ ...progress, samplesPerSecond: 0 }, 32)).toBeNull();
  });

  it('accepts a queue progress event only with an experiment id and training progress', () => {
    const jobId = '5b0c7f0e-8a4e-4d5e-9a53-1c1f0c7c9d11';
    expect(queueProgressEventSchema.safeParse({ jobId, data: progress }).success).toBe(true);
    expect(queueProgressEventSchema.safeParse({ jobId: 'not-an-id', data: progress }).success).toBe(false);
    expect(queueProgressEventSchema.safeParse({ jobId, data: 42 }).success).toBe(false);
    expect(queueProgressEventSchema.safeParse({ jobId, data: { ...progress, step: -1 } }).success).toBe(false);
    expect(queueProgressEventSchema.safeParse({ jobId, data: { ...progress, extra: true } }).success).toBe(false);
  });
});
