import type { ExperimentEntity } from '@tfleet/persistence';
import { queueFacts } from './experiment.view';

const row = (over: Partial<ExperimentEntity>): ExperimentEntity =>
  ({ createdAt: new Date('2026-12-05T10:00:00Z'), startedAt: null, finishedAt: null, attempt: 0, runtime: null, ...over }) as ExperimentEntity;

describe('queueFacts', () => {
  it('counts failed attempts: a job completed on its first attempt has none, a job retried once has one', () => {
    const done = row({ attempt: 1, startedAt: new Date('2026-12-05T10:00:02Z'), finishedAt: new Date('2026-12-05T10:00:12Z') });
    expect(queueFacts(done, { state: 'completed', attemptsMade: 1, stalledCounter: 0 })).toMatchObject({ failedAttempts: 0, attempts: 1, waitingMs: 2_000, trainingMs: 10_000 });
    expect(queueFacts(done, { state: 'completed', attemptsMade: 2, stalledCounter: 0 }).failedAttempts).toBe(1);
    expect(queueFacts(done, { state: 'active', attemptsMade: 1, stalledCounter: 1 })).toMatchObject({ failedAttempts: 1, stalls: 1 });
    expect(queueFacts(done, { state: 'failed', attemptsMade: 3, stalledCounter: 0 }).failedAttempts).toBe(3);
  });

  it('without the job (Redis away, or the job removed), says what the row knows', () => {
    const queued = row({});
    expect(queueFacts(queued, null, new Date('2026-12-05T10:00:05Z').getTime())).toEqual({ state: null, attempts: 0, failedAttempts: null, stalls: null, waitingMs: 5_000, trainingMs: null, worker: null });
  });
});
