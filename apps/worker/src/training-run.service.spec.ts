import type { Job } from 'bullmq';
import { UnrecoverableError, WaitingError } from 'bullmq';
import { loadConfig } from '@tfleet/config';
import { type CheckpointPayload, type CheckpointPointer, parseExperimentSpec, type RankReport, type RankTask, type RunEvent, type TrainExperimentJobData } from '@tfleet/contracts';
import type { CancellationService } from './cancellation.service';
import type { ExecutionCounter } from './executions';
import type { JobLocks } from './job-lock';
import type { RankGroupFactory, RankPoolRecord, TrainingRankGroup } from './rank-group.factory';
import type { ResumePoint, RunCheckpoints } from './run-checkpoints';
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
  /** The tasks the ranks were given. */
  tasks: RankTask[];
  /** Checkpoints written to the (fake) store, by attempt. */
  written: { attempt: number; step: number }[];
}

/** `script` plays rank 0: it reports, and checks the stop signal as a rank does between steps. */
function harness(
  script: (report: (r: RankReport) => void, signal: AbortSignal) => Promise<void>,
  options: { cancelledBefore?: boolean; attemptsMade?: number; resume?: ResumePoint; pool?: RankPoolRecord; leases?: string[] } = {},
): Harness {
  const sent: Harness['sent'] = [];
  const tasks: RankTask[] = [];
  const written: Harness['written'] = [];
  const checkpoints = {
    resumePoint: async () => options.resume ?? null,
    write: async (experimentId: string, attempt: number, payload: CheckpointPayload): Promise<CheckpointPointer> => {
      written.push({ attempt, step: payload.step });
      return { ref: `${experimentId}/${payload.step}-${payload.kind}-${attempt}`, step: payload.step, epoch: payload.epoch, kind: payload.kind, bytes: 100 };
    },
    waitUntilRecorded: async () => true,
  } as unknown as RunCheckpoints;
  const queue = { add: async (_name: string, event: RunEvent, opts: { jobId: string }) => void sent.push({ id: opts.jobId, event }) };
  let onLost: ((reason: string) => void) | null = null;
  let stopped = false;
  const cancel = new AbortController();
  if (options.cancelledBefore) cancel.abort();
  const group: TrainingRankGroup = {
    run: async (taskForRank: (rank: number) => RankTask, onReport: (r: RankReport, rank: number) => void, signal?: AbortSignal) => {
      expect(taskForRank(0).attempt).toBe(7);
      tasks.push(taskForRank(0));
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
    {
      acquire: async () => {
        options.leases?.push('acquired');
        return { group, pool: () => options.pool ?? null, recordRankMemory: () => undefined, release: () => void options.leases?.push('released') };
      },
    } as unknown as RankGroupFactory,
    checkpoints,
    new WorkerVitals(loadConfig({})),
  );
  return { service, sent, loseLock: () => onLost?.('another worker holds its lock'), lockStopped: () => stopped, tasks, written };
}

const movedToWait: string[] = [];
const job = (attemptsMade = 0) =>
  ({ id: data.experimentId, attemptsMade, opts: { attempts: 3 }, updateProgress: async () => undefined, moveToWait: async (token: string) => void movedToWait.push(token) }) as unknown as Job<TrainExperimentJobData>;
const checkpointReport = (step: number): RankReport => ({
  kind: 'checkpoint',
  checkpoint: { step, epoch: 0, kind: 'periodic', model: { modelTopology: {}, weightSpecs: [], weightDataBase64: 'AAAA' }, state: { cursor: {} } },
});

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

  it('records the rank pool the run ran on with started, and releases the pool however the run ends', async () => {
    const leases: string[] = [];
    const warm = harness(
      async (report) => {
        report(ready);
        report(completed);
      },
      { pool: { pool: 3, run: 2 }, leases },
    );
    await expect(warm.service.run(job(), data, 'token')).resolves.toBe('completed');
    expect(warm.sent[0]!.event).toMatchObject({ type: 'started', runtime: { rankPool: { pool: 3, run: 2 } } });
    const failing = harness(
      async (report) => {
        report(ready);
        throw new Error('rank 1 threw');
      },
      { leases },
    );
    await expect(failing.service.run(job(), data, 'token')).rejects.toThrow('rank 1 threw');
    expect(failing.sent[0]!.event).toMatchObject({ type: 'started' });
    expect('rankPool' in (failing.sent[0]!.event as { runtime: object }).runtime).toBe(false);
    expect(leases).toEqual(['acquired', 'released', 'acquired', 'released']);
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

  it('sends checkpoints as references to the store, never their weights', async () => {
    const h = harness(async (report) => {
      report(ready);
      report(checkpointReport(5));
      report(completed);
    });
    await expect(h.service.run(job(), data, 'token')).resolves.toBe('completed');
    expect(h.written).toEqual([{ attempt: 7, step: 5 }]);
    expect(h.sent[1]!.event).toEqual(expect.objectContaining({ type: 'checkpoint', checkpoint: { ref: `${data.experimentId}/5-periodic-7`, step: 5, epoch: 0, kind: 'periodic', bytes: 100 } }));
  });

  it('an attempt with a resume point gives it to its ranks and says so in `started`', async () => {
    const resume: ResumePoint = {
      pointer: { ref: `${data.experimentId}/40-periodic-3`, step: 40, epoch: 1, kind: 'periodic', bytes: 10 },
      payload: { step: 40, epoch: 1, kind: 'periodic', model: { modelTopology: {}, weightSpecs: [], weightDataBase64: '' }, state: {} },
    };
    const h = harness(
      async (report) => {
        report(ready);
        report(completed);
      },
      { resume },
    );
    await h.service.run(job(), data, 'token');
    expect(h.tasks[0]!.resumeFrom).toEqual(resume.payload);
    expect(h.sent[0]!.event).toMatchObject({ type: 'started', resumedFromStep: 40 });
    const fresh = harness(async (report) => {
      report(ready);
      report(completed);
    });
    await fresh.service.run(job(), data, 'token');
    expect(fresh.tasks[0]!.resumeFrom).toBeUndefined();
    expect(fresh.sent[0]!.event).toMatchObject({ type: 'started', resumedFromStep: null });
  });

  it('a hand-back (shutdown) stops at the next step, sends its checkpoint but no cancel, and moves the job back to waiting', async () => {
    let h: Harness;
    let service: TrainingRunService;
    let drained: Promise<void> = Promise.resolve();
    h = harness(async (report, signal) => {
      report(ready);
      drained = service.handBackAll();
      expect(signal.aborted).toBe(true);
      // The ranks checkpoint where they stopped, then report the stop.
      report(checkpointReport(12));
      report({ kind: 'cancelled', step: 12 });
    });
    service = h.service;
    movedToWait.length = 0;
    await expect(h.service.run(job(), data, 'the-token')).rejects.toBeInstanceOf(WaitingError);
    await drained;
    expect(movedToWait).toEqual(['the-token']);
    expect(h.sent.map((s) => s.event.type)).toEqual(['started', 'checkpoint']);
    // Once shutting down, a job that arrives is handed back before it trains.
    await expect(h.service.run(job(), data, 'next')).rejects.toBeInstanceOf(WaitingError);
    expect(movedToWait).toEqual(['the-token', 'next']);
  });
});
