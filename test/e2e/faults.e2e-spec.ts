import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { QueueName } from '@tfleet/contracts';
import { createRedis, executionCounterKey, redisOptionsFromUrl } from '@tfleet/queue';
import { eventually, finishedExperiment, startPrivateRedis, startTestStack, TEST_REDIS_URL, type PrivateRedis, type TestStack } from '../utils/tfleet-stack.util';

interface ExperimentBody {
  id: string;
  status: string;
  attempt: number;
  resumedFromStep: number | null;
  runtime: { workerId: string } | null;
  error: string | null;
  metrics: Record<string, number> | null;
  belowBaseline: boolean | null;
  baseline: { metric: string; value: number; baselineName: string; baseline: number; belowBaseline: boolean } | null;
  divergence: { step: number; lastFiniteLoss: number | null } | null;
  boardKey: string;
  queue: { state: string | null; attempts: number; failedAttempts: number | null };
}

interface HistoryBody {
  epochs: { epoch: number; attempt: number }[];
  test: Record<string, number>;
}

interface RankingBody {
  entries: { id: string; rank: number }[];
  belowBaseline: { id: string; value: number; baseline: { metric: string; baseline: number; belowBaseline: boolean } | null }[];
}

/** The issue's repro: an LSTM with plain SGD at learning rate 10 (on `adding` its loss is infinite at step 11). */
const divergingRun = { name: 'diverges', dataset: { name: 'adding', samples: 256, sequenceLength: 10 }, model: { family: 'lstm', units: 8 }, training: { optimizer: 'sgd', learningRate: 10, epochs: 2, batchSize: 32, ranks: 1 } };
/** The smallest run there is. */
const tinyRun = (name: string) => ({ name, dataset: { name: 'adding', samples: 100, sequenceLength: 4 }, model: { family: 'gru', units: 4 }, training: { epochs: 1, ranks: 1 } });
/** A small CNN on 400 MNIST digits: Adam at 0.01 learns (test accuracy 0.75), at 1 it collapses (0.175, the majority class is 0.25). */
const mnistCnn = (name: string, learningRate: number) => ({
  name,
  dataset: { name: 'mnist', samples: 400 },
  model: { family: 'cnn', blocks: [{ filters: 4 }], denseUnits: [16], dropout: 0 },
  training: { optimizer: 'adam', learningRate, epochs: 2, batchSize: 32, ranks: 1 },
});
/** A run of well under a second per epoch on one wasm rank (a few seconds before the engine got faster). */
const epochsRun = (name: string, epochs: number) => ({ name, dataset: { name: 'adding', samples: 2_000, sequenceLength: 40 }, model: { family: 'gru', units: 32 }, training: { epochs, ranks: 1, batchSize: 32 } });
/** A run of several seconds per epoch even on a fast machine, for faults that must strike mid-training. */
const longRun = (name: string, epochs: number) => {
  const run = epochsRun(name, epochs);
  return { ...run, dataset: { ...run.dataset, samples: 20_000 }, model: { ...run.model, units: 128 } };
};

async function submit(stack: TestStack, spec: unknown): Promise<string> {
  const response = await stack.request('POST', '/api/experiments', spec);
  if (response.status !== 201) throw new Error(`submit: ${response.status} ${JSON.stringify(response.body)}`);
  return (response.body as { id: string }).id;
}

async function experiment(stack: TestStack, id: string): Promise<ExperimentBody> {
  const response = await stack.request('GET', `/api/experiments/${id}`);
  if (response.status !== 200) throw new Error(`GET ${id}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as ExperimentBody;
}

const history = async (stack: TestStack, id: string) => (await stack.request('GET', `/api/experiments/${id}/metrics`)).body as HistoryBody;
const settled = (stack: TestStack, id: string, timeoutMs: number) => finishedExperiment<ExperimentBody>(stack, id, timeoutMs);

/** How many times workers started executing an experiment's job (the execution counter in Redis). */
async function executions(redisUrl: string, prefix: string, id: string): Promise<number> {
  const redis = createRedis(redisUrl);
  try {
    return Number((await redis.get(executionCounterKey(prefix, id))) ?? 0);
  } finally {
    redis.disconnect();
  }
}

describe('faults (real API, workers, Redis, SQLite)', () => {
  describe('a run that diverges, and runs no better than their baseline', () => {
    let stack: TestStack;

    beforeAll(async () => {
      stack = await startTestStack({ workers: 1 });
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
    });

    it('marks a NaN or infinite loss diverged with its step and last finite loss, never retries it, and trains the next job', async () => {
      const submittedAt = Date.now();
      const diverging = await submit(stack, divergingRun);
      const next = await submit(stack, tinyRun('after-divergence'));
      const done = await settled(stack, diverging, 120_000);
      const divergedAfterMs = Date.now() - submittedAt;
      expect(done.status).toBe('diverged');
      expect(done.divergence).toEqual({ step: 11, lastFiniteLoss: expect.any(Number) });
      expect(Number.isFinite(done.divergence!.lastFiniteLoss)).toBe(true);
      expect(done.error).toMatch(/^training diverged: the loss became Infinity at step 11 \(last finite loss /);
      const after = await settled(stack, next, 120_000);
      expect(after.status).toBe('completed');
      expect(after.runtime!.workerId).toBe('worker-1');
      // No retry: one execution, and the job failed for good at once (a retry waits 5 s of backoff).
      await new Promise((r) => setTimeout(r, 6_000));
      const later = await experiment(stack, diverging);
      expect(later.status).toBe('diverged');
      expect(later.attempt).toBe(1);
      expect(later.queue).toMatchObject({ state: 'failed', attempts: 1, failedAttempts: 1 });
      expect(await executions(TEST_REDIS_URL, stack.queuePrefix, diverging)).toBe(1);
      expect(stack.processes.get('worker-1')?.exitCode).toBeNull();
      console.log(`divergence: ${done.error}; seen diverged within ${divergedAfterMs} ms of submission; 1 execution, job ${later.queue.state}; the next job completed on ${after.runtime!.workerId}`);
    }, 300_000);

    it('flags a collapsed run below its baseline on its view and lists it apart from the ranking', async () => {
      const collapsed = await submit(stack, mnistCnn('collapsed', 1));
      const working = await submit(stack, mnistCnn('working', 0.01));
      const [c, w] = [await settled(stack, collapsed, 180_000), await settled(stack, working, 180_000)];
      expect([c.status, w.status]).toEqual(['completed', 'completed']);
      expect(c.belowBaseline).toBe(true);
      expect(c.baseline).toMatchObject({ metric: 'accuracy', baselineName: 'majorityAccuracy', belowBaseline: true });
      expect(c.baseline!.value).toBe(c.metrics!['accuracy']);
      expect(c.baseline!.value).toBeLessThanOrEqual(c.baseline!.baseline);
      expect(w.belowBaseline).toBe(false);
      expect(w.baseline!.value).toBeGreaterThan(w.baseline!.baseline);
      expect(c.boardKey).toBe(w.boardKey);

      const ranking = (await stack.request('GET', `/api/leaderboard?board=${c.boardKey}&metric=accuracy`)).body as RankingBody;
      expect(ranking.entries.map((e) => [e.rank, e.id])).toEqual([[1, working]]);
      expect(ranking.belowBaseline.map((e) => e.id)).toEqual([collapsed]);
      expect(ranking.belowBaseline[0]!.baseline).toMatchObject({ metric: 'accuracy', belowBaseline: true });
      const grouped = (await stack.request('GET', `/api/leaderboard?board=${c.boardKey}&metric=accuracy&groupBy=config&aggregate=mean`)).body as { groups: { ids: string[] }[] } & RankingBody;
      expect(grouped.groups.flatMap((g) => g.ids)).toEqual([working]);
      expect(grouped.belowBaseline.map((e) => e.id)).toEqual([collapsed]);
      console.log(`baseline flag: collapsed CNN accuracy ${c.baseline!.value} vs majority class ${c.baseline!.baseline} (flagged); working CNN ${w.baseline!.value} (ranked)`);
    }, 360_000);
  });

  describe('a rank that makes no progress for TFLEET_STEP_TIMEOUT_MS', () => {
    let stack: TestStack;

    beforeAll(async () => {
      // Every first attempt's ranks block for good before step 5 (the test hook); retries do not.
      stack = await startTestStack({ workers: 1, env: { TFLEET_STEP_TIMEOUT_MS: '3000', TFLEET_TEST_STALL_AT_STEP: '5' } });
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
    });

    it('fails the attempt (its ranks ended), and the retry resumes from the checkpoint before the stall and completes', async () => {
      const submittedAt = Date.now();
      const stalling = epochsRun('stalls', 1);
      const id = await submit(stack, { ...stalling, dataset: { name: 'adding', samples: 640, sequenceLength: 10 }, training: { ...stalling.training, checkpointEverySteps: 2 } });
      const done = await settled(stack, id, 180_000);
      const doneMs = Date.now() - submittedAt;
      expect(done.status).toBe('completed');
      expect(done.attempt).toBe(2);
      // A failed attempt is retried like a stalled or killed one: from the latest checkpoint
      // (steps 2 and 4 were saved before the ranks blocked at step 5), not from step 0.
      expect(done.resumedFromStep).toBe(4);
      expect(done.queue).toMatchObject({ state: 'completed', attempts: 2, failedAttempts: 1 });
      const output = stack.output.join('');
      expect(output).toMatch(/no progress for 3000 ms \(TFLEET_STEP_TIMEOUT_MS\)/);
      expect(output).toMatch(/attempt 1 failed \(will retry\)/);
      const h = await history(stack, id);
      expect(h.epochs.map((e) => [e.epoch, e.attempt])).toEqual([[1, 2]]);
      // The worker lives on.
      expect(stack.processes.get('worker-1')?.exitCode).toBeNull();
      console.log(`step timeout: attempt 1 stalled before step 5 and was failed after 3000 ms of silence; attempt 2 (after BullMQ's 5-s backoff) resumed from step ${done.resumedFromStep} and completed ${doneMs} ms after submission`);
    }, 240_000);
  });

  describe('the API SIGKILLed and restarted while a run trains', () => {
    let stack: TestStack;

    beforeAll(async () => {
      stack = await startTestStack({ workers: 1 });
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
    });

    it('stores what arrived meanwhile exactly once', async () => {
      const epochs = 4;
      // Not epochsRun: with the faster engine it finished about 1 s after the kill.
      const id = await submit(stack, longRun('api-killed', epochs));
      await eventually(async () => ((await experiment(stack, id)).status === 'running' ? true : undefined), 120_000, 'the run to start');
      const killedAt = Date.now();
      await stack.kill('api', 'SIGKILL');
      // The run goes on and finishes with the API down: its events wait in Redis.
      const queue = new Queue(QueueName.Experiments, { connection: redisOptionsFromUrl(TEST_REDIS_URL), prefix: stack.queuePrefix });
      const events = new Queue(QueueName.RunEvents, { connection: redisOptionsFromUrl(TEST_REDIS_URL), prefix: stack.queuePrefix });
      try {
        await eventually(async () => ((await queue.getJobState(id)) === 'completed' ? true : undefined), 240_000, 'the job to complete without the API');
        const waiting = await events.getJobCounts('waiting', 'active', 'completed');
        const downMs = Date.now() - killedAt;
        await stack.startApi();
        const done = await settled(stack, id, 60_000);
        expect(done.status).toBe('completed');
        expect(done.attempt).toBe(1);
        // A run event the killed API was applying stays 'active' in Redis until BullMQ's stall
        // check hands it back (lock 30 s plus one 30-s stalled interval, the run-events
        // defaults), so it may be applied after 'completed': wait for it, then count.
        const h = await eventually(
          async () => {
            const seen = await history(stack, id);
            return seen.epochs.length >= epochs ? seen : undefined;
          },
          90_000,
          'every epoch stored',
        );
        expect(h.epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
        expect(Object.keys(h.test).length).toBeGreaterThan(0);
        // The rows themselves: one per epoch, split and metric, and the final test metrics once.
        const db = new DataSource({ type: 'sqlite', database: stack.dbPath });
        await db.initialize();
        try {
          const rows = (await db.query(`SELECT "epoch", "split", "name", COUNT(*) AS "n" FROM "experiment_metrics" WHERE "experimentId" = ? GROUP BY "epoch", "split", "name"`, [id])) as { epoch: number; split: string; n: number }[];
          expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
          expect(new Set(rows.filter((r) => r.split !== 'test').map((r) => r.epoch))).toEqual(new Set([1, 2, 3, 4]));
          const completed = (await db.query(`SELECT COUNT(*) AS "n" FROM "experiments" WHERE "id" = ? AND "status" = 'completed'`, [id])) as { n: number }[];
          expect(Number(completed[0]!.n)).toBe(1);
          const checkpoints = (await db.query(`SELECT "kind", "step", COUNT(*) AS "n" FROM "checkpoints" WHERE "experimentId" = ? GROUP BY "kind", "step"`, [id])) as { n: number }[];
          expect(checkpoints.every((c) => Number(c.n) === 1)).toBe(true);
          console.log(`API down ${downMs} ms while the run finished; ${waiting['waiting']} run events waited in Redis; after the restart ${rows.length} metric points, each stored once, and ${checkpoints.length} checkpoints`);
        } finally {
          await db.destroy();
        }
        expect(await eventually(async () => ((await events.getJobCounts('waiting', 'active'))['waiting'] === 0 ? true : undefined), 30_000, 'every run event applied')).toBe(true);
        expect(waiting['waiting']).toBeGreaterThan(0);
      } finally {
        await queue.close();
        await events.close();
      }
    }, 420_000);
  });

  describe('Redis restarted (persistence on) while one run trains and two wait', () => {
    let redis: PrivateRedis;
    let stack: TestStack;

    beforeAll(async () => {
      redis = await startPrivateRedis();
      stack = await startTestStack({ workers: 1, env: { REDIS_URL: redis.url } });
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
      await redis?.destroy();
    });

    it('answers from the database while it is down, and every experiment completes after it is back', async () => {
      // Not epochsRun: with the faster engine it could end before the queued ones were submitted.
      const running = await submit(stack, longRun('running-through-restart', 4));
      await eventually(async () => ((await history(stack, running)).epochs.length >= 1 ? true : undefined), 120_000, 'the first epoch');
      const queued = [await submit(stack, tinyRun('queued-1')), await submit(stack, tinyRun('queued-2'))];
      // One worker, busy: both wait in Redis when it goes down.
      expect((await Promise.all(queued.map((id) => experiment(stack, id)))).map((e) => e.status)).toEqual(['queued', 'queued']);

      await redis.stop();
      const downAt = Date.now();
      let during: Record<string, { status: number; ms: number; body: unknown }>;
      try {
        await new Promise((r) => setTimeout(r, 500));
        during = {
          get: await stack.request('GET', `/api/experiments/${running}`),
          list: await stack.request('GET', '/api/experiments'),
          metrics: await stack.request('GET', `/api/experiments/${running}/metrics`),
          leaderboard: await stack.request('GET', '/api/leaderboard?dataset=adding&metric=mse'),
          submit: await stack.request('POST', '/api/experiments', tinyRun('during-outage')),
          health: await stack.request('GET', '/api/health', undefined, null),
        };
        await new Promise((r) => setTimeout(r, Math.max(0, 5_000 - (Date.now() - downAt))));
      } finally {
        await redis.start();
      }
      const downMs = Date.now() - downAt;
      for (const [what, response] of Object.entries(during)) expect({ what, bounded: response.ms < 2_000 }).toEqual({ what, bounded: true });
      expect([during['get']!.status, during['list']!.status, during['metrics']!.status, during['leaderboard']!.status]).toEqual([200, 200, 200, 200]);
      expect(during['submit']!.status).toBe(503);
      expect((during['submit']!.body as { message: string }).message).toMatch(/Redis is unavailable/);
      expect(during['health']!.body).toMatchObject({ redis: 'down', database: 'up', status: 'degraded' });
      // The outage hit a run in the middle of its training, as this test means it to.
      expect((during['get']!.body as ExperimentBody).status).toBe('running');

      const finished = await Promise.all([running, ...queued].map((id) => settled(stack, id, 300_000)));
      expect(finished.map((e) => e.status)).toEqual(['completed', 'completed', 'completed']);
      // The outage was shorter than the 30-s lock: the running attempt kept its job.
      expect(finished[0]!.attempt).toBe(1);
      expect((await history(stack, running)).epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
      const health = await eventually(
        async () => {
          const h = await stack.request('GET', '/api/health', undefined, null);
          return (h.body as { status: string; workers: number }).status === 'ok' && (h.body as { workers: number }).workers === 1 ? h : undefined;
        },
        30_000,
        'health ok with the worker live',
      );
      expect(health.status).toBe(200);
      console.log(`Redis restart: down ${downMs} ms; ${Object.entries(during).map(([what, r]) => `${what} ${r.status} in ${r.ms} ms`).join(', ')}; the running run and both queued ones completed (running one as attempt ${finished[0]!.attempt})`);
    }, 480_000);
  });

  describe('three workers and a dozen experiments', () => {
    let stack: TestStack;

    beforeAll(async () => {
      stack = await startTestStack({ workers: 3, env: { TFLEET_MAX_RANKS: '1' } });
    }, 180_000);

    afterAll(async () => {
      await stack?.stop();
    });

    it('completes every one, spread over all three workers, none trained twice', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push(await submit(stack, { ...tinyRun(`dozen-${i}`), dataset: { name: 'adding', samples: 600, sequenceLength: 8 } }));
      const done = await Promise.all(ids.map((id) => settled(stack, id, 300_000)));
      expect(done.map((e) => e.status)).toEqual(new Array(12).fill('completed'));
      const byWorker = new Map<string, number>();
      for (const e of done) byWorker.set(e.runtime!.workerId, (byWorker.get(e.runtime!.workerId) ?? 0) + 1);
      expect([...byWorker.keys()].sort()).toEqual(['worker-1', 'worker-2', 'worker-3']);
      expect(done.every((e) => e.attempt === 1)).toBe(true);
      for (const id of ids) expect(await executions(TEST_REDIS_URL, stack.queuePrefix, id)).toBe(1);
      console.log(`a dozen experiments over three workers: ${JSON.stringify(Object.fromEntries([...byWorker.entries()].sort()))}, each executed once`);
    }, 420_000);
  });
});
