import { join } from 'node:path';
import { CheckpointStore } from '@tfleet/artifacts';
import { createRedis } from '@tfleet/queue';
import { eventually, finishedExperiment, startTestStack, TEST_REDIS_URL, type TestStack } from '../utils/tfleet-stack.util';

interface ExperimentBody {
  id: string;
  status: string;
  attempt: number;
  resumedFromStep: number | null;
  runtime: { workerId: string } | null;
  startedAt: string | null;
  progress: { step: number; totalSteps: number } | null;
  steps: number | null;
  error: string | null;
}

interface HistoryBody {
  epochs: { epoch: number; step: number; attempt: number }[];
  test: Record<string, number>;
}

interface CheckpointRow {
  kind: string;
  step: number;
  ref: string;
  sizeBytes: number;
}

/** Redis may carry references only: no job (experiment or run event) bigger than this. */
const MAX_JOB_BYTES = 64 * 1024;
const CHECKPOINT_EVERY = 10;

/**
 * A GRU run of a few epochs on one wasm rank (150 steps an epoch), with a checkpoint every 10
 * steps: long enough (tens of seconds) to be stopped in its second epoch.
 */
// Long enough that progress is still being reported after 45% of the steps even on an idle
// machine (with 64 units it could finish before the next once-a-second report).
const resumableRun = (name: string, epochs = 3) => ({
  name,
  dataset: { name: 'adding', samples: 6_000, sequenceLength: 60 },
  model: { family: 'gru', units: 160 },
  training: { epochs, ranks: 1, batchSize: 32, checkpointEverySteps: CHECKPOINT_EVERY, seed: 7 },
});

async function experiment(stack: TestStack, id: string): Promise<ExperimentBody> {
  const response = await stack.request('GET', `/api/experiments/${id}`);
  if (response.status !== 200) throw new Error(`GET ${id}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as ExperimentBody;
}

const history = async (stack: TestStack, id: string) => (await stack.request('GET', `/api/experiments/${id}/metrics`)).body as HistoryBody;
const checkpoints = async (stack: TestStack, id: string) => (await stack.request('GET', `/api/experiments/${id}/checkpoints`)).body as CheckpointRow[];
const settled = (stack: TestStack, id: string, timeoutMs: number) => finishedExperiment<ExperimentBody>(stack, id, timeoutMs);

/** The final weights of a completed run, read from the stack's checkpoint store. */
async function finalWeights(stack: TestStack, id: string): Promise<Float32Array> {
  const final = (await checkpoints(stack, id)).find((c) => c.kind === 'final');
  if (!final) throw new Error(`experiment ${id} has no final checkpoint`);
  const payload = await new CheckpointStore(join(stack.dataDir, 'artifacts')).readCheckpoint(final.ref);
  const bytes = Buffer.from(payload.model.weightDataBase64, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Waits until the run is training past `fraction` of its steps on some worker, and returns its view. */
async function trainingPast(stack: TestStack, id: string, fraction: number): Promise<ExperimentBody> {
  let last: ExperimentBody | null = null;
  try {
    return await eventually(
      async () => {
        last = await experiment(stack, id);
        const progress = last.progress;
        return last.status === 'running' && progress !== null && progress.step > fraction * progress.totalSteps ? last : undefined;
      },
      240_000,
      `experiment ${id} past ${fraction} of its steps`,
    );
  } catch (error) {
    throw new Error(`${String(error)}; last view ${JSON.stringify(last)}; output:\n${stack.output.slice(-30).join('')}`);
  }
}

/** Polls the run's progress every 50 ms until a new report arrives after `seen`; returns its step. */
async function justReported(stack: TestStack, id: string, seen: number): Promise<number> {
  return eventually(
    async () => {
      const step = (await experiment(stack, id)).progress?.step ?? seen;
      return step !== seen ? step : undefined;
    },
    30_000,
    'a progress report',
    50,
  );
}

/** The epochs of a resumed run: each once, the ones before the resume point from the earlier attempt. */
function expectOneHistory(h: HistoryBody, done: ExperimentBody, epochs: number): void {
  expect(h.epochs.map((e) => e.epoch)).toEqual(Array.from({ length: epochs }, (_, i) => i + 1));
  for (const e of h.epochs) expect(e.attempt === done.attempt || e.step <= done.resumedFromStep!).toBe(true);
  expect(Object.keys(h.test).length).toBeGreaterThan(0);
}

describe('checkpoints in the store, resumed after faults (real API, workers, Redis, SQLite, signals)', () => {
  describe('a model of several MB', () => {
    let stack: TestStack;

    beforeAll(async () => {
      stack = await startTestStack();
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
    });

    it('trains with its checkpoints in the store and no job or run event in Redis over 64 KB', async () => {
      // An MLP with a 784 x 1024 hidden layer: 814k parameters, ~9.8 MB per checkpoint with Adam's moments.
      const spec = {
        dataset: { name: 'synthetic-images', samples: 200 },
        model: { family: 'cnn', blocks: [], denseUnits: [1024], dropout: 0 },
        training: { epochs: 2, batchSize: 32, ranks: 1, checkpointEverySteps: 2 },
      };
      const submitted = await stack.request('POST', '/api/experiments', spec);
      expect(submitted.status).toBe(201);
      const id = (submitted.body as ExperimentBody).id;
      const done = await settled(stack, id, 240_000);
      expect(done.status).toBe('completed');

      const stored = await checkpoints(stack, id);
      expect(stored.some((c) => c.kind === 'final')).toBe(true);
      for (const c of stored) expect(c.sizeBytes).toBeGreaterThan(9_000_000);

      const redis = createRedis(TEST_REDIS_URL);
      try {
        const sizes: { key: string; bytes: number }[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${stack.queuePrefix}:*`, 'COUNT', 1000);
          cursor = next;
          for (const key of keys) {
            if ((await redis.type(key)) !== 'hash') continue;
            const data = await redis.hget(key, 'data');
            if (data !== null) sizes.push({ key, bytes: Buffer.byteLength(data) });
          }
        } while (cursor !== '0');
        const events = sizes.filter((s) => s.key.includes(':run-events:'));
        // started, the epochs, every checkpoint, completed: all read back from Redis.
        expect(events.length).toBeGreaterThanOrEqual(2 + stored.length);
        expect(sizes.some((s) => s.key.endsWith(`:experiments:${id}`))).toBe(true);
        const largest = Math.max(...sizes.map((s) => s.bytes));
        console.log(`largest job in Redis: ${largest} bytes of ${sizes.length} jobs; checkpoints ${stored.map((c) => c.sizeBytes).join(', ')} bytes in the store`);
        expect(sizes.filter((s) => s.bytes > MAX_JOB_BYTES)).toEqual([]);
      } finally {
        redis.disconnect();
      }
    }, 300_000);

    it('fine-tunes BERT from a pretraining run whose final checkpoint the job names by reference', async () => {
      const bert = { family: 'bert', dModel: 16, heads: 2, ffDim: 32, layers: 1 };
      const pretraining = await stack.request('POST', '/api/experiments', {
        dataset: { name: 'brown', maxTokens: 2_000, sequenceLength: 16, vocabSize: 200 },
        model: bert,
        training: { epochs: 1, batchSize: 32, ranks: 1 },
      });
      const pretrainedId = (pretraining.body as ExperimentBody).id;
      expect((await settled(stack, pretrainedId, 240_000)).status).toBe('completed');
      const final = (await checkpoints(stack, pretrainedId)).find((c) => c.kind === 'final')!;

      const fineTuning = await stack.request('POST', '/api/experiments', {
        dataset: { name: 'spam-assassin', sequenceLength: 16 },
        model: { ...bert, pretrainedFrom: pretrainedId },
        training: { maxSteps: 3, batchSize: 16, ranks: 1, evalSamples: 64 },
      });
      expect(fineTuning.status).toBe(201);
      const id = (fineTuning.body as ExperimentBody).id;
      const redis = createRedis(TEST_REDIS_URL);
      try {
        const data = JSON.parse((await redis.hget(`${stack.queuePrefix}:experiments:${id}`, 'data')) ?? '{}') as { pretrained?: unknown };
        expect(data.pretrained).toEqual({ ref: final.ref, step: final.step, epoch: expect.any(Number), kind: 'final', bytes: final.sizeBytes });
      } finally {
        redis.disconnect();
      }
      const done = await settled(stack, id, 240_000);
      expect({ status: done.status, error: done.error }).toEqual({ status: 'completed', error: null });
    }, 600_000);
  });

  describe('SIGKILL of the worker holding a run, a second worker running (default lock 30 s, stalled check 15 s)', () => {
    let stack: TestStack;

    beforeAll(async () => {
      stack = await startTestStack({ workers: 2 });
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
    });

    it('resumes from the last checkpoint on the second worker and ends with the weights of an uninterrupted run', async () => {
      const submitted = await stack.request('POST', '/api/experiments', resumableRun('killed'));
      const id = (submitted.body as ExperimentBody).id;
      // Mid-epoch 2 of 3, some checkpoints in.
      const before = await trainingPast(stack, id, 0.45);
      const holder = before.runtime!.workerId;
      // Progress is reported once a second: kill right after a report, so its step is where the run was.
      const stepAtKill = await justReported(stack, id, before.progress!.step);
      const killedAt = Date.now();
      await stack.kill(holder, 'SIGKILL');

      const resumed = await eventually(
        async () => {
          const e = await experiment(stack, id);
          return e.attempt > before.attempt && e.startedAt !== null ? e : undefined;
        },
        120_000,
        'the second attempt',
      );
      const killToResumeMs = new Date(resumed.startedAt!).getTime() - killedAt;
      const done = await settled(stack, id, 300_000);
      expect(done.status).toBe('completed');
      expect(done.runtime!.workerId).not.toBe(holder);
      expect(done.resumedFromStep).not.toBeNull();
      const stepsLost = stepAtKill - done.resumedFromStep!;
      // At most one checkpoint interval (the step at the kill is the last progress report, at most a poll of 50 ms old).
      expect(stepsLost).toBeLessThanOrEqual(CHECKPOINT_EVERY);
      expect(done.resumedFromStep!).toBeGreaterThan(before.progress!.totalSteps / 3);
      expectOneHistory(await history(stack, id), done, 3);
      console.log(
        `SIGKILL: killed at step ${stepAtKill} (a progress report just before), resumed from step ${done.resumedFromStep}: ${stepsLost} steps lost (checkpoint every ${CHECKPOINT_EVERY}); the new attempt started ${killToResumeMs} ms after the kill (lock 30 s, stalled check 15 s)`,
      );
      expect(killToResumeMs).toBeLessThan(60_000);

      // The same spec and seed, uninterrupted, on the worker that is left.
      const reference = (await stack.request('POST', '/api/experiments', resumableRun('uninterrupted'))).body as ExperimentBody;
      const referenceDone = await settled(stack, reference.id, 300_000);
      expect(referenceDone).toMatchObject({ status: 'completed', resumedFromStep: null, attempt: 1 });
      expect(referenceDone.steps).toBe(done.steps);
      const difference = maxAbsDifference(await finalWeights(stack, id), await finalWeights(stack, reference.id));
      console.log(`resumed vs uninterrupted: max |weight difference| = ${difference}`);
      expect(difference).toBeLessThanOrEqual(1e-5);
    }, 900_000);
  });

  describe('SIGTERM to the worker holding a run, a second worker running', () => {
    let stack: TestStack;

    beforeAll(async () => {
      stack = await startTestStack({ workers: 2 });
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
    });

    it('checkpoints at the next step, hands the job back, exits 0 within the grace, and the other worker resumes where it stopped', async () => {
      const submitted = await stack.request('POST', '/api/experiments', resumableRun('terminated'));
      const id = (submitted.body as ExperimentBody).id;
      const before = await trainingPast(stack, id, 0.4);
      const holder = before.runtime!.workerId;
      const child = stack.processes.get(holder)!;
      const outputBefore = stack.output.length;
      const exited = new Promise<{ code: number | null; ms: number }>((resolve) => {
        const sentAt = Date.now();
        child.once('exit', (code) => resolve({ code, ms: Date.now() - sentAt }));
      });
      const stepAtSignal = (await experiment(stack, id)).progress!.step;
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      const exit = await exited;
      const resumed = await eventually(
        async () => {
          const e = await experiment(stack, id);
          return e.attempt > before.attempt && e.startedAt !== null ? e : undefined;
        },
        60_000,
        'the second attempt',
      );
      const signalToResumeMs = new Date(resumed.startedAt!).getTime() - signalledAt;
      const holderOutput = stack.output.slice(outputBefore).filter((line) => line.startsWith(`[${holder}]`)).join('');
      expect(holderOutput).not.toMatch(/Connection is closed/);
      expect(holderOutput).toMatch(/handed back at step \d+/);
      expect(exit.code).toBe(0);
      expect(exit.ms).toBeLessThan(30_000);
      // Its last beat said it stopped: listed as stopped, not lost.
      const workers = (await stack.request('GET', '/api/workers')).body as { workers: { id: string; state: string }[] };
      expect(workers.workers.find((w) => w.id === holder)?.state).toBe('stopped');

      const done = await settled(stack, id, 300_000);
      expect(done.status).toBe('completed');
      expect(done.runtime!.workerId).not.toBe(holder);
      // It stopped at a step boundary after the signal and checkpointed there: nothing trained is lost.
      expect(done.resumedFromStep!).toBeGreaterThanOrEqual(stepAtSignal);
      expectOneHistory(await history(stack, id), done, 3);
      console.log(
        `SIGTERM: worker exited ${exit.code} after ${exit.ms} ms (grace 30 s); resumed from step ${done.resumedFromStep} (progress said ${stepAtSignal} at the signal); the new attempt started ${signalToResumeMs} ms after the signal`,
      );
      expect(signalToResumeMs).toBeLessThan(30_000);
    }, 600_000);

    it('POST /resume continues a cancelled run from its latest checkpoint; 404 for an unknown id, 409 when not resumable', async () => {
      expect((await stack.request('POST', '/api/experiments/00000000-0000-4000-8000-000000000000/resume')).status).toBe(404);
      const submitted = await stack.request('POST', '/api/experiments', resumableRun('cancelled then resumed', 2));
      const id = (submitted.body as ExperimentBody).id;
      await trainingPast(stack, id, 0.1);
      expect((await stack.request('POST', `/api/experiments/${id}/resume`)).status).toBe(409);
      expect((await stack.request('POST', `/api/experiments/${id}/cancel`)).status).toBe(200);
      // The worker stops at its next step and saves a checkpoint there; the job must have left the worker.
      const resumed = await eventually(
        async () => {
          const r = await stack.request('POST', `/api/experiments/${id}/resume`);
          if (r.status === 409 && /still stopping/.test(JSON.stringify(r.body))) return undefined;
          return r;
        },
        60_000,
        'the cancelled job to leave its worker',
      );
      expect(resumed.status).toBe(200);
      expect((resumed.body as ExperimentBody).status).toBe('queued');
      const done = await settled(stack, id, 300_000);
      expect(done.status).toBe('completed');
      expect(done.resumedFromStep!).toBeGreaterThanOrEqual(30);
      expect(done.attempt).toBeGreaterThan(1);
      expectOneHistory(await history(stack, id), done, 2);
      const again = await stack.request('POST', `/api/experiments/${id}/resume`);
      expect(again.status).toBe(409);
      expect(JSON.stringify(again.body)).toMatch(/completed/);
    }, 600_000);
  });
});
