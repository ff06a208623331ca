import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { loadConfig } from '@tfleet/config';
import { parseExperimentSpec, type RankReport, type RankTask, type RunEvent, type TrainExperimentJobData } from '@tfleet/contracts';
import type { CancellationService } from './cancellation.service';
import type { ExecutionCounter } from './executions';
import type { JobLocks } from './job-lock';
import type { RankGroupFactory, TrainingRankGroup } from './rank-group.factory';
import { WorkerVitals } from './worker-vitals';
import { RunEventPublisher } from './run-event.publisher';
import type { ThroughputBaselines } from './throughput-baselines';
import { JobLostError, TrainingRunService } from './training-run.service';

/**
 * TrainingRunService with fakes at its seams (the rank group, Redis-backed helpers, the
 * run-events queue): what it sends, in what order, and how it ends for each way a run goes.
 */

const parsed = parseExperimentSpec({ dataset: { name: 'adding' }, model: { family: 'gru' }, training: { ranks: 1 } });
if (!parsed.ok) throw new Error('spec');
const data: TrainExperimentJobData = { experimentId: '11111111-1111-4111-8111-111111111111', spec: parsed.value };

const ready: RankReport = { kind: 'ready', rank: 0, paramCount: 42, backend: 'wasm', device: 'cpu (wasm)', tfjsVersion: '4.22.0' } as RankReport;
const epoch: RankReport = { kind: 'epoch', epoch: 1, step: 10, train: { loss: 1 }, validation: { loss: 1 }, samplesPerSecond: 5, wallTimeMs: 10 };
const completed: RankReport = { kind: 'completed', test: { mse: 0.1 }, baselines: { mse: 0.2 }, steps: 10, epochs: 1, samplesPerSecond: 5, wallTimeMs: 10 };

interface Harness {
  service: TrainingRunService;
  sent: { id: string; event: RunEvent }[];
  /** Fires the lock watch's "lost" callback, as a failed read-back would. */
  loseLock(): void;
  lockStopped(): boolean;
}

/** `script` plays rank 0: it reports, and checks the stop signal as a rank does between steps. */
function harness(script: (report: (r: RankReport) => void, signal: AbortSignal) => Promise<void>, options: { cancelledBefore?: boolean; attemptsMade?: number } = {}): Harness {
  const sent: Harness['sent'] = [];
  const queue = { add: async (_name: string, event: RunEvent, opts: { jobId: string }) => void sent.push({ id: opts.jobId, event }) };
  let onLost: ((reason: string) => void) | null = null;
  let stopped = false;
  const cancel = new AbortController();
  if (options.cancelledBefore) cancel.abort();
  const group: TrainingRankGroup = {
    run: async (taskForRank: (rank: number) => RankTask, onReport: (r: RankReport, rank: number) => void, signal?: AbortSignal) => {
      expect(taskForRank(0).attempt).toBe(7);
      await script((r) => onReport(r, 0), signal!);
      return [];
    },
    fail: () => undefined,
  };
  const service = new TrainingRunService(
    loadConfig({ TFLEET_MAX_RANKS: '2', TFLEET_WORKER_ID: 'w-test' }),
    'wasm',
    { watch: async () => ({ signal: cancel.signal, release: () => undefined }) } as unknown as CancellationService,
    new RunEventPublisher(queue as never),
    { record: async () => undefined, lookup: async () => null } as unknown as ThroughputBaselines,
    { next: async () => 7 } as unknown as ExecutionCounter,
    {
      watch: (_q: string, _id: string, _token: string, lost: (reason: string) => void) => {
        onLost = lost;
        return { stop: () => void (stopped = true) };
      },
    } as unknown as JobLocks,
    { create: () => group } as unknown as RankGroupFactory,
    new WorkerVitals(loadConfig({})),
  );
  return { service, sent, loseLock: () => onLost?.('another worker holds its lock'), lockStopped: () => stopped };
}

const job = (attemptsMade = 0) => ({ id: data.experimentId, attemptsMade, opts: { attempts: 3 }, updateProgress: async () => undefined }) as unknown as Job<TrainExperimentJobData>;

describe('TrainingRunService', () => {
  it('relays a run as started, epoch, completed under its execution number, in order', async () => {
    const h = harness(async (report) => {
      report(ready);
      report(epoch);
      report(completed);
    });
    await expect(h.service.run(job(), data, 'token')).resolves.toBe('completed');
    expect(h.sent.map((s) => s.event.type)).toEqual(['started', 'epoch', 'completed']);
    expect(h.sent.map((s) => s.id)).toEqual([`${data.experimentId}_7_0`, `${data.experimentId}_7_1`, `${data.experimentId}_7_2`]);
    expect(h.sent[0]!.event).toMatchObject({ attempt: 7, runtime: { workerId: 'w-test', backend: 'wasm', ranks: 1 } });
    expect(h.sent[2]!.event).toMatchObject({ type: 'completed', scalingEfficiency: 1 });
    expect(h.lockStopped()).toBe(true);
  });

  it('a run that loses its lock stops at the next step, publishes nothing more and does not report a failure', async () => {
    let h: Harness;
    h = harness(async (report, signal) => {
      report(ready);
      // A step later (the relay sends asynchronously), the lock is found lost.
      await new Promise((resolve) => setTimeout(resolve, 10));
      h.loseLock();
      // The next step sees the stop signal and ends the rank as a cancellation would.
      expect(signal.aborted).toBe(true);
      report(epoch);
      report({ kind: 'cancelled', step: 11 });
    });
    await expect(h.service.run(job(), data, 'token')).rejects.toBeInstanceOf(JobLostError);
    expect(h.sent.map((s) => s.event.type)).toEqual(['started']);
  });

  it('a failure with attempts left is reported as retrying and rethrown; on the last attempt it is unrecoverable', async () => {
    const boom = async () => {
      throw new Error('rank 0 crashed');
    };
    const first = harness(boom);
    await expect(first.service.run(job(0), data, 'token')).rejects.toThrow('rank 0 crashed');
    expect(first.sent.map((s) => s.event)).toEqual([expect.objectContaining({ type: 'failed', willRetry: true, error: 'rank 0 crashed' })]);
    const last = harness(boom);
    await expect(last.service.run(job(2), data, 'token')).rejects.toBeInstanceOf(UnrecoverableError);
    expect(last.sent.map((s) => s.event)).toEqual([expect.objectContaining({ type: 'failed', willRetry: false })]);
  });

  it('a run cancelled before it starts is reported cancelled at step 0 without starting ranks', async () => {
    const h = harness(
      async () => {
        throw new Error('must not start');
      },
      { cancelledBefore: true },
    );
    await expect(h.service.run(job(), data, 'token')).resolves.toBe('cancelled');
    expect(h.sent.map((s) => s.event)).toEqual([expect.objectContaining({ type: 'cancelled', step: 0 })]);
  });

  it('a run whose loss stops being finite is reported diverged, once, and fails without retries (no failed event)', async () => {
    const h = harness(async (report) => {
      report(ready);
      report(epoch);
      report({ kind: 'diverged', step: 11, loss: 'NaN', lastFiniteLoss: 3.5 });
      report({ kind: 'memory', tensors: 0, bytes: 0 });
    });
    // First of three attempts: an ordinary failure would be retried.
    const failure = h.service.run(job(0), data, 'token');
    await expect(failure).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(failure).rejects.toThrow('diverged: loss NaN at step 11 (last finite loss 3.5)');
    expect(h.sent.map((s) => s.event.type)).toEqual(['started', 'epoch', 'diverged']);
    expect(h.sent[2]!.event).toMatchObject({ type: 'diverged', step: 11, loss: 'NaN', lastFiniteLoss: 3.5 });
  });

  it('a spec asking for more ranks than this worker runs fails at once, without retries', async () => {
    const h = harness(async () => undefined);
    const tooMany: TrainExperimentJobData = { ...data, spec: { ...data.spec, training: { ...data.spec.training, ranks: 8 } } };
    await expect(h.service.run(job(0), tooMany, 'token')).rejects.toBeInstanceOf(UnrecoverableError);
    expect(h.sent.map((s) => s.event)).toEqual([expect.objectContaining({ type: 'failed', willRetry: false, error: expect.stringContaining('TFLEET_MAX_RANKS') })]);
  });
});
