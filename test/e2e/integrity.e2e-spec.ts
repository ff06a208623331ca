import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { JobName, parseExperimentSpec, QueueName, type TrainExperimentJobData } from '@tfleet/contracts';
import { ExperimentsRepository, openDatabase } from '@tfleet/persistence';
import { cancelKey, createRedis, redisOptionsFromUrl } from '@tfleet/queue';
import { cpuTicks, eventually, finishedExperiment, startPrivateRedis, startTestStack, TEST_REDIS_URL, type PrivateRedis, type TestStack } from '../utils/tfleet-stack.util';

interface ExperimentBody {
  id: string;
  status: string;
  attempt: number;
  resumedFromStep: number | null;
  runtime: { workerId: string } | null;
  startedAt: string | null;
  error: string | null;
}

interface HistoryBody {
  epochs: { epoch: number; step: number; attempt: number }[];
  test: Record<string, number>;
}

/** A run that takes a few seconds per epoch on one wasm rank, with frequent checkpoints. */
const longRun = (epochs: number) => ({
  name: `long-${epochs}`,
  dataset: { name: 'adding', samples: 3_000, sequenceLength: 60 },
  model: { family: 'gru', units: 48 },
  training: { epochs, ranks: 1, batchSize: 32, checkpointEverySteps: 5 },
});
/** The smallest run there is. */
const tinyRun = { dataset: { name: 'adding', samples: 100, sequenceLength: 4 }, model: { family: 'gru', units: 4 }, training: { epochs: 1, ranks: 1 } };

/** Short locks so that takeovers happen within seconds (the defaults are 30 s and 15 s). */
const FAST_LOCKS = { TFLEET_JOB_LOCK_MS: '4000', TFLEET_STALLED_INTERVAL_MS: '1000' };

async function experiment(stack: TestStack, id: string): Promise<ExperimentBody> {
  const response = await stack.request('GET', `/api/experiments/${id}`);
  if (response.status !== 200) throw new Error(`GET ${id}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as ExperimentBody;
}

async function history(stack: TestStack, id: string): Promise<HistoryBody> {
  return (await stack.request('GET', `/api/experiments/${id}/metrics`)).body as HistoryBody;
}

const settled = (stack: TestStack, id: string, timeoutMs: number) => finishedExperiment<ExperimentBody>(stack, id, timeoutMs);

/** The stack's experiments queue, opened from the test (to look at its jobs, or add one). */
const experimentsQueue = (stack: TestStack) => new Queue<TrainExperimentJobData>(QueueName.Experiments, { connection: redisOptionsFromUrl(TEST_REDIS_URL), prefix: stack.queuePrefix });

/** Every id in the queue (any state) and every experiment row, to look for orphans on either side. */
async function jobIds(queue: Queue): Promise<Set<string>> {
  const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'paused', 'active', 'completed', 'failed'], 0, -1);
  return new Set(jobs.flatMap((j) => (j.id ? [j.id] : [])));
}

async function rowIds(stack: TestStack): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let page = 1; ; page++) {
    const body = (await stack.request('GET', `/api/experiments?page=${page}&pageSize=100`)).body as { items: { id: string }[]; total: number };
    body.items.forEach((e) => ids.add(e.id));
    if (body.items.length < 100) return ids;
  }
}

describe('nothing accepted is lost or recorded wrong (real API, workers, Redis, SQLite)', () => {
  describe('a submission storm beside a run that checkpoints every 5 steps', () => {
    let stack: TestStack;
    let queue: Queue;

    beforeAll(async () => {
      // Passes every 2 s, so the one after a failed job's 10-s grace comes soon.
      stack = await startTestStack({ TFLEET_RECONCILE_INTERVAL_MS: '2000' });
      queue = experimentsQueue(stack);
    }, 90_000);

    afterAll(async () => {
      await queue?.obliterate({ force: true }).catch(() => undefined);
      await queue?.close();
      await stack?.stop();
    });

    it('answers every request without a 5xx, keeps every 201, and leaves no orphan on either side', async () => {
      const long = await stack.request('POST', '/api/experiments', longRun(3));
      expect(long.status).toBe(201);
      const longId = (long.body as ExperimentBody).id;
      await eventually(async () => ((await experiment(stack, longId)).status === 'running' ? true : undefined), 60_000, 'the long run to start');

      const SUBMISSIONS = 300;
      const statuses: number[] = [];
      const created: string[] = [];
      let next = 0;
      // 10 clients submitting as fast as they are answered, each also reading after every submit.
      const client = async () => {
        while (next < SUBMISSIONS) {
          next++;
          const posted = await stack.request('POST', '/api/experiments', { ...tinyRun, name: `storm-${next}` });
          statuses.push(posted.status);
          if (posted.status === 201) created.push((posted.body as ExperimentBody).id);
          const read = await stack.request('GET', next % 2 === 0 ? `/api/experiments/${longId}` : '/api/experiments?pageSize=5');
          statuses.push(read.status);
        }
      };
      await Promise.all(Array.from({ length: 10 }, client));

      console.log(`storm: ${statuses.length} requests, ${statuses.filter((s) => s >= 500).length} 5xx, ${created.length} of ${SUBMISSIONS} submissions created`);
      expect(statuses.filter((s) => s >= 500)).toEqual([]);
      expect(created.length).toBe(SUBMISSIONS);
      for (const id of created) expect((await stack.request('GET', `/api/experiments/${id}`)).status).toBe(200);
      const rows = await rowIds(stack);
      const jobs = await jobIds(queue);
      expect(rows.size).toBe(SUBMISSIONS + 1);
      expect([...jobs].filter((id) => !rows.has(id))).toEqual([]);
      expect(created.filter((id) => !jobs.has(id))).toEqual([]);

      // The worker need not train 300 tiny runs: cancel what is left (each 200, or 409 if done).
      for (const id of created) expect([200, 409]).toContain((await stack.request('POST', `/api/experiments/${id}/cancel`)).status);

      const done = await settled(stack, longId, 240_000);
      expect(done.status).toBe('completed');
      const h = await history(stack, longId);
      expect(h.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
      expect(Object.keys(h.test).length).toBeGreaterThan(0);
      const checkpoints = (await stack.request('GET', `/api/experiments/${longId}/checkpoints`)).body as { kind: string }[];
      expect(checkpoints.some((c) => c.kind === 'final')).toBe(true);
    }, 360_000);
  });

  describe('reconciliation after the API died between writing the row and enqueueing the job', () => {
    let stack: TestStack;
    let queue: Queue<TrainExperimentJobData>;

    beforeAll(async () => {
      stack = await startTestStack();
      queue = experimentsQueue(stack);
    }, 90_000);

    afterAll(async () => {
      await queue?.obliterate({ force: true }).catch(() => undefined);
      await queue?.close();
      await stack?.stop();
    });

    it('runs the row that had no job, fails the row whose job failed for good, and removes the job that had no row without training it', async () => {
      await stack.kill('worker-1', 'SIGKILL');
      await stack.kill('api', 'SIGKILL');
      const parsed = parseExperimentSpec(tinyRun);
      if (!parsed.ok) throw new Error('tiny spec is invalid');

      // The state a crash between the two writes leaves: a committed queued row, a minute old, no job.
      const rowWithoutJob = randomUUID();
      // And a running row whose job failed for good while no API listened.
      const rowWithFailedJob = randomUUID();
      const dataSource = await openDatabase(stack.dbPath);
      const repository = new ExperimentsRepository(dataSource);
      await repository.insertQueued(rowWithoutJob, parsed.value);
      await repository.insertQueued(rowWithFailedJob, parsed.value);
      await dataSource.query(`UPDATE "experiments" SET "createdAt" = datetime('now', '-1 minute') WHERE "id" IN (?, ?)`, [rowWithoutJob, rowWithFailedJob]);
      await dataSource.destroy();
      await queue.add(JobName.TrainExperiment, { experimentId: rowWithFailedJob, spec: parsed.value }, { jobId: rowWithFailedJob, attempts: 1 });
      const failing = new Worker(
        QueueName.Experiments,
        () => {
          throw new Error('out of memory (injected)');
        },
        { connection: redisOptionsFromUrl(TEST_REDIS_URL), prefix: stack.queuePrefix },
      );
      await eventually(async () => ((await queue.getJob(rowWithFailedJob))?.failedReason ? true : undefined), 30_000, 'the injected failure');
      await failing.close();
      // And a job whose row is gone (an enqueue that timed out but reached Redis).
      const jobWithoutRow = randomUUID();
      await queue.add(JobName.TrainExperiment, { experimentId: jobWithoutRow, spec: parsed.value }, { jobId: jobWithoutRow, timestamp: Date.now() - 60_000 });

      await stack.startApi();
      await eventually(async () => ((await queue.getJob(jobWithoutRow)) === undefined && (await queue.getJob(rowWithoutJob)) !== undefined ? true : undefined), 30_000, 'the reconciler');
      const redis = createRedis(TEST_REDIS_URL);
      try {
        expect(await redis.get(cancelKey(stack.queuePrefix, jobWithoutRow))).toBe('1');
      } finally {
        redis.disconnect();
      }

      // Left alone until the job has been failed for the 10-s grace, then marked failed with its reason.
      const failedRow = await settled(stack, rowWithFailedJob, 60_000);
      expect(failedRow).toMatchObject({ status: 'failed', error: 'out of memory (injected)' });

      await stack.startWorker('worker-2');
      expect((await settled(stack, rowWithoutJob, 90_000)).status).toBe('completed');
      expect(stack.output.join('')).not.toContain(`experiment ${jobWithoutRow} attempt`);
      expect((await stack.request('GET', `/api/experiments/${jobWithoutRow}`)).status).toBe(404);
    }, 240_000);
  });

  describe('a worker SIGKILLed mid-run', () => {
    let stack: TestStack;

    beforeAll(async () => {
      stack = await startTestStack({ workers: 2, env: FAST_LOCKS });
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
    });

    it('is taken over as a new attempt that resumes from the last checkpoint, with one history', async () => {
      const submitted = await stack.request('POST', '/api/experiments', longRun(4));
      const id = (submitted.body as ExperimentBody).id;
      const first = await eventually(
        async () => {
          const [e, h] = await Promise.all([experiment(stack, id), history(stack, id)]);
          return e.status === 'running' && h.epochs.length >= 1 ? e : undefined;
        },
        120_000,
        'an epoch of the first attempt',
      );
      const holder = first.runtime!.workerId;
      const killedAt = Date.now();
      await stack.kill(holder, 'SIGKILL');

      const done = await settled(stack, id, 240_000);
      expect(done.status).toBe('completed');
      expect(done.attempt).toBeGreaterThan(first.attempt);
      expect(done.runtime!.workerId).not.toBe(holder);
      expect(new Date(done.startedAt!).getTime()).toBeGreaterThan(killedAt);
      // It resumed from a checkpoint of the first attempt (every 5 steps; at least one epoch was done).
      expect(done.resumedFromStep).not.toBeNull();
      const h = await history(stack, id);
      expect(h.epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
      expect(h.epochs.every((e) => e.attempt === done.attempt || e.step <= done.resumedFromStep!)).toBe(true);
      // For the README: how long the job waited for its new worker.
      console.log(`takeover after SIGKILL: new attempt started ${new Date(done.startedAt!).getTime() - killedAt} ms after the kill (lock 4 s, stalled check 1 s)`);
    }, 360_000);
  });

  describe('a Redis outage longer than the job lock, two workers', () => {
    let redis: PrivateRedis;
    let stack: TestStack;

    beforeAll(async () => {
      redis = await startPrivateRedis();
      stack = await startTestStack({ workers: 2, env: { ...FAST_LOCKS, REDIS_URL: redis.url } });
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
      await redis?.destroy();
    });

    it('answers requests within 2 s while Redis is away, and never has two workers training one experiment', async () => {
      const submitted = await stack.request('POST', '/api/experiments', longRun(5));
      const id = (submitted.body as ExperimentBody).id;
      await eventually(async () => ((await history(stack, id)).epochs.length >= 1 ? true : undefined), 120_000, 'the first epoch');

      // Sample each worker's CPU every 500 ms: a worker that trains keeps about a core busy.
      const workers = ['worker-1', 'worker-2'].map((name) => ({ name, pid: stack.processes.get(name)!.pid! }));
      const busyWindows: string[][] = [];
      let last = workers.map((w) => cpuTicks(w.pid) ?? 0);
      const sampler = setInterval(() => {
        const now = workers.map((w) => cpuTicks(w.pid) ?? 0);
        // 100 ticks per second: more than 25 ticks in a 500-ms window is over half a core.
        busyWindows.push(workers.filter((_, i) => now[i]! - last[i]! > 25).map((w) => w.name));
        last = now;
      }, 500);

      const before = (await rowIds(stack)).size;
      try {
        await redis.stop();
        const outageStarted = Date.now();
        await new Promise((r) => setTimeout(r, 500));
        const during = {
          get: await stack.request('GET', `/api/experiments/${id}`),
          list: await stack.request('GET', '/api/experiments'),
          metrics: await stack.request('GET', `/api/experiments/${id}/metrics`),
          submit: await stack.request('POST', '/api/experiments', tinyRun),
          cancel: await stack.request('POST', `/api/experiments/${id}/cancel`),
          health: await stack.request('GET', '/api/health', undefined, null),
        };
        for (const [what, response] of Object.entries(during)) expect({ what, fast: response.ms < 2_000 }).toEqual({ what, fast: true });
        // For the README: how fast each answered while Redis was down.
        console.log(`during the outage: ${Object.entries(during).map(([what, r]) => `${what} ${r.status} in ${r.ms} ms`).join(', ')}`);
        expect(during.get.status).toBe(200);
        expect(during.list.status).toBe(200);
        expect(during.metrics.status).toBe(200);
        expect(during.submit.status).toBe(503);
        expect((during.submit.body as { message: string }).message).toMatch(/Redis is unavailable/);
        expect(during.cancel.status).toBe(503);
        expect(during.health.status).toBe(200);
        expect(during.health.body).toMatchObject({ redis: 'down', database: 'up', status: 'degraded' });
        // Twice the lock's duration: the lock expires while Redis is away.
        await new Promise((r) => setTimeout(r, Math.max(0, 8_000 - (Date.now() - outageStarted))));
      } finally {
        await redis.start();
      }

      const done = await settled(stack, id, 240_000);
      clearInterval(sampler);
      expect(done.status).toBe('completed');
      expect(done.attempt).toBeGreaterThan(1);
      expect(stack.output.join('')).toMatch(/job lost/);
      const h = await history(stack, id);
      expect(h.epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5]);
      // Epochs before the checkpoint it resumed from stay the earlier attempt's; the rest are its own.
      expect(h.epochs.every((e) => e.attempt === done.attempt || (done.resumedFromStep !== null && e.step <= done.resumedFromStep))).toBe(true);
      // Nothing the failed submission or cancel asked for happened later.
      await new Promise((r) => setTimeout(r, 2_000));
      expect((await rowIds(stack)).size).toBe(before);
      expect(busyWindows.length).toBeGreaterThan(10);
      expect(busyWindows.filter((w) => w.length > 1)).toEqual([]);
    }, 400_000);
  });
});
