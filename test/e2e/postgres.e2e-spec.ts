import { boardOf } from '@tfleet/contracts';
import { createTestDatabase, type TestDatabase } from '../utils/postgres.util';
import { finishedExperiment, startTestStack, type TestStack } from '../utils/tfleet-stack.util';

interface ExperimentBody {
  id: string;
  status: string;
  metrics: Record<string, number> | null;
  boardKey: string;
  error: string | null;
}

describe('a run end to end with the control plane on PostgreSQL (real API, worker, Redis)', () => {
  let db: TestDatabase;
  let stack: TestStack;

  beforeAll(async () => {
    db = await createTestDatabase('tfleet_e2e');
    stack = await startTestStack({ env: { DATABASE_URL: db.url } });
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    await db?.drop();
  });

  it('submits, trains, ranks on its board, filters and compares, all from PostgreSQL', async () => {
    const health = await stack.request('GET', '/api/health', undefined, null);
    expect(health.body).toMatchObject({ database: 'up', redis: 'up' });
    const submit = (seed: number) =>
      stack.request('POST', '/api/experiments', {
        dataset: { name: 'mnist', samples: 200 },
        // 30 steps: enough to beat the majority class, so both runs are ranked (not listed apart).
        model: { family: 'cnn', blocks: [], denseUnits: [8], dropout: 0 },
        training: { epochs: 3, batchSize: 16, maxSteps: 30, seed },
      });
    const ids: string[] = [];
    for (const seed of [1, 2]) {
      const response = await submit(seed);
      expect(response.status).toBe(201);
      ids.push((response.body as ExperimentBody).id);
    }
    for (const id of ids) {
      const done = await finishedExperiment<ExperimentBody>(stack, id, 180_000);
      expect(done.error).toBeNull();
      expect(done.status).toBe('completed');
    }
    const key = boardOf({ name: 'mnist', samples: 200 }).key;
    const ranking = (await stack.request('GET', `/api/leaderboard?board=${key}&metric=accuracy`)).body as { entries: { id: string; boardKey: string }[] };
    expect(ranking.entries.map((e) => e.id).sort()).toEqual([...ids].sort());
    const filtered = (await stack.request('GET', `/api/experiments?filter=${encodeURIComponent('training.seed = 2 AND metrics.accuracy >= 0')}`)).body as { items: { id: string }[] };
    expect(filtered.items.map((e) => e.id)).toEqual([ids[1]]);
    const bad = await stack.request('GET', `/api/experiments?filter=${encodeURIComponent("1=1; DROP TABLE experiments")}`);
    expect(bad.status).toBe(400);
    const grouped = (await stack.request('GET', `/api/leaderboard?board=${key}&groupBy=config&aggregate=mean`)).body as { groups: { n: number }[] };
    expect(grouped.groups.map((g) => g.n)).toEqual([2]);
    const compare = (await stack.request('GET', `/api/compare?ids=${ids.join(',')}`)).body as { differences: string[] };
    expect(compare.differences).toEqual(['training.seed']);
  }, 300_000);
});
