import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@tfleet/config';
import type { WorkerMemory } from '@tfleet/contracts';
import { freePort } from '../../apps/launcher/src/redis-server';
import { STACK_ENTRY_POINTS, startStack } from '../../apps/launcher/src/stack';
import { eventually, finishedExperiment, startTestStack, TEST_REDIS_URL, type TestStack } from '../utils/tfleet-stack.util';

interface ExperimentBody {
  id: string;
  status: string;
  runtime: { workerId: string; rankPool?: { pool: number; run: number } } | null;
}

interface WorkerBody {
  id: string;
  state: string;
  jobsDone: number;
  memory?: WorkerMemory;
}

/** The smallest run there is: a few steps of a 4-unit GRU. */
const tinyRun = (name: string) => ({ name, dataset: { name: 'adding', samples: 100, sequenceLength: 4 }, model: { family: 'gru', units: 4 }, training: { epochs: 1, ranks: 1 } });

async function submit(stack: Pick<TestStack, 'request'>, spec: unknown): Promise<string> {
  const response = await stack.request('POST', '/api/experiments', spec);
  if (response.status !== 201) throw new Error(`submit: ${response.status} ${JSON.stringify(response.body)}`);
  return (response.body as { id: string }).id;
}

const workers = async (stack: Pick<TestStack, 'request'>) => ((await stack.request('GET', '/api/workers')).body as { workers: WorkerBody[] }).workers;

describe('long-lived workers (real API, workers, Redis, SQLite)', () => {
  describe('a soak: 30 consecutive experiments on one worker', () => {
    let stack: TestStack;

    beforeAll(async () => {
      stack = await startTestStack({ workers: 1, env: { TFLEET_MAX_RANKS: '1' } });
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
    });

    it('completes them all with resident memory and leftover tensors bounded', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) ids.push(await submit(stack, tinyRun(`soak-${i}`)));
      // The worker beats as each job starts and ends: one reading per job ended.
      const byJob = new Map<number, WorkerMemory>();
      const sampler = setInterval(() => {
        void workers(stack)
          .then((list) => {
            const memory = list.find((w) => w.id === 'worker-1')?.memory;
            if (memory && !byJob.has(memory.jobsEnded)) byJob.set(memory.jobsEnded, memory);
          })
          .catch(() => undefined);
      }, 250);
      try {
        const done = await Promise.all(ids.map((id) => finishedExperiment<ExperimentBody>(stack, id, 600_000)));
        expect(done.map((e) => e.status)).toEqual(new Array(30).fill('completed'));
        // Same backend and ranks every time: all 30 ran on the worker's first rank pool, kept
        // warm between them (runs 1 to 30 in the order the worker took them).
        expect(new Set(done.map((e) => e.runtime?.rankPool?.pool))).toEqual(new Set([1]));
        expect(done.map((e) => e.runtime!.rankPool!.run).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
        await eventually(async () => (byJob.has(30) ? true : undefined), 30_000, 'the beat after the 30th job');
      } finally {
        clearInterval(sampler);
      }
      const readings = [...byJob.entries()].sort((a, b) => a[0] - b[0]).filter(([jobs]) => jobs >= 1);
      const after = (jobs: number) => readings.filter(([j]) => j >= jobs)[0]![1];
      // Every run's rank 0 left the same number of tensors behind after freeing its model: none leak.
      const leftovers = new Set(readings.map(([, m]) => m.lastRunTensors));
      expect(leftovers).toEqual(new Set([0]));
      // Resident memory after 30 jobs within 100 MB of where it stood after 5 (the warm pool's
      // threads, their tfjs and wasm heaps, stay; each run's model, data and tensors go).
      const rss = readings.map(([, m]) => m.rssMb);
      expect(after(30).rssMb).toBeLessThan(after(5).rssMb + 100);
      console.log(
        `soak: 30 jobs on one worker; rss MB after 1/5/10/20/30 jobs: ${[1, 5, 10, 20, 30].map((j) => after(j).rssMb).join('/')} (max ${Math.max(...rss)}); heap used MB: ${[1, 5, 10, 20, 30].map((j) => after(j).heapUsedMb).join('/')}; tensors left by each run: ${[...leftovers].join(',')} (${readings.length} readings)`,
      );
    }, 700_000);
  });

  describe('recycling after TFLEET_WORKER_MAX_JOBS', () => {
    let stack: TestStack;

    beforeAll(async () => {
      stack = await startTestStack({ workers: 1, env: { TFLEET_MAX_RANKS: '1', TFLEET_WORKER_MAX_JOBS: '2' } });
    }, 120_000);

    afterAll(async () => {
      await stack?.stop();
    });

    it('finishes its second job, takes no third, exits with code 0; a new worker takes the third', async () => {
      const worker = stack.processes.get('worker-1')!;
      const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
      const ids = [await submit(stack, tinyRun('r-1')), await submit(stack, tinyRun('r-2')), await submit(stack, tinyRun('r-3'))];
      expect(await exited).toBe(0);
      const [first, second] = await Promise.all(ids.slice(0, 2).map((id) => finishedExperiment<ExperimentBody>(stack, id, 120_000)));
      expect([first!.status, second!.status]).toEqual(['completed', 'completed']);
      const third = (await stack.request('GET', `/api/experiments/${ids[2]}`)).body as ExperimentBody & { queue: { state: string } };
      expect(third.status).toBe('queued');
      expect(third.queue.state).toBe('waiting');
      expect((await workers(stack)).find((w) => w.id === 'worker-1')).toMatchObject({ state: 'stopped', jobsDone: 2 });
      expect(stack.output.join('')).toMatch(/recycling \(2 jobs done \(TFLEET_WORKER_MAX_JOBS=2\)\)/);

      await stack.startWorker('worker-2');
      const done = await finishedExperiment<ExperimentBody>(stack, ids[2]!, 120_000);
      expect(done.status).toBe('completed');
      expect(done.runtime!.workerId).toBe('worker-2');
    }, 300_000);
  });

  describe('npm start (the launcher) with TFLEET_WORKER_MAX_RSS_MB', () => {
    it('restarts its worker each time it recycles, and every experiment completes', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'tfleet-launcher-'));
      const port = await freePort();
      const apiKey = `test-key-${randomUUID()}`;
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        TFLEET_DATA_DIR: dataDir,
        REDIS_URL: TEST_REDIS_URL,
        TFLEET_QUEUE_PREFIX: `e2e-${randomUUID().slice(0, 8)}`,
        TFLEET_API_KEY: apiKey,
        TFLEET_BACKEND: 'wasm',
        TFLEET_MAX_RANKS: '1',
        // Any worker is over 1 MB: it recycles after every job.
        TFLEET_WORKER_MAX_RSS_MB: '1',
      };
      const lines: string[] = [];
      const stack = await startStack(loadConfig(env), env, STACK_ENTRY_POINTS, (line) => lines.push(line));
      const client = {
        request: async (method: string, path: string, body?: unknown) => {
          const response = await fetch(`${stack.apiUrl}${path}`, {
            method,
            headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          return { status: response.status, body: (await response.json()) as unknown, ms: 0 };
        },
      };
      try {
        const ids = [await submit(client, tinyRun('l-1')), await submit(client, tinyRun('l-2')), await submit(client, tinyRun('l-3'))];
        const done = await Promise.all(ids.map((id) => finishedExperiment<ExperimentBody>(client, id, 240_000)));
        expect(done.map((e) => e.status)).toEqual(['completed', 'completed', 'completed']);
        // Three worker processes (ids are <host>-<pid>), one job each.
        expect(new Set(done.map((e) => e.runtime!.workerId)).size).toBe(3);
        const restarts = lines.filter((l) => l.includes('[tfleet] the worker exited (code 0); starting a new one'));
        expect(restarts.length).toBeGreaterThanOrEqual(2);
        expect(lines.join('\n')).toMatch(/recycling \(resident memory \d+ MB over TFLEET_WORKER_MAX_RSS_MB=1\)/);
      } finally {
        await stack.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }, 300_000);
  });
});
