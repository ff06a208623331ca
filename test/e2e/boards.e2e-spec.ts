import { boardOf, defaultBoardOf } from '@tfleet/contracts';
import { eventually, finishedExperiment, startTestStack, type TestStack } from '../utils/tfleet-stack.util';

interface ExperimentBody {
  id: string;
  status: string;
  metrics: Record<string, number> | null;
  error: string | null;
}
interface Entry {
  id: string;
  boardKey: string;
  value: number;
}
interface RankingBody {
  boardKey: string;
  entries: Entry[];
}
interface GroupBody {
  n: number;
  mean: number;
  std: number | null;
  min: number;
  max: number;
  ids: string[];
  group: Record<string, unknown>;
}
interface ErrorBody {
  issues?: { field: string }[];
  position?: number;
  expected?: string;
  message: string;
}

/**
 * Tiny runs: 200 or 300 MNIST digits, one dense layer, 30 steps: enough to beat the majority
 * class (test accuracy 0.25-0.45 against 0.1), so that every run is ranked, none listed apart.
 */
const spec = (name: string, samples: number, seed: number, learningRate: number) => ({
  name,
  dataset: { name: 'mnist', samples },
  model: { family: 'cnn', blocks: [], denseUnits: [8], dropout: 0 },
  training: { epochs: 3, batchSize: 16, maxSteps: 30, seed, learningRate, ranks: 1 },
});

const q = (text: string) => encodeURIComponent(text);

describe('fair leaderboards over HTTP (boards, filters, groups, compare; real API, worker, Redis, SQLite)', () => {
  let stack: TestStack;
  const ids: Record<'s1' | 's2' | 's3' | 'lr' | 'big', string> = { s1: '', s2: '', s3: '', lr: '', big: '' };
  const small = boardOf({ name: 'mnist', samples: 200 }).key;
  const large = boardOf({ name: 'mnist', samples: 300 }).key;

  beforeAll(async () => {
    stack = await startTestStack();
    const specs = { s1: spec('b-s1', 200, 1, 0.001), s2: spec('b-s2', 200, 2, 0.001), s3: spec('b-s3', 200, 3, 0.001), lr: spec('b-lr', 200, 4, 0.01), big: spec('b-big', 300, 1, 0.001) };
    for (const [key, body] of Object.entries(specs) as [keyof typeof ids, unknown][]) {
      const submitted = await stack.request('POST', '/api/experiments', body);
      if (submitted.status !== 201) throw new Error(`submission failed: ${JSON.stringify(submitted.body)}`);
      ids[key] = (submitted.body as ExperimentBody).id;
    }
    for (const id of Object.values(ids)) {
      const done = await finishedExperiment<ExperimentBody>(stack, id, 180_000);
      if (done.status !== 'completed') throw new Error(`experiment ${id} ${done.status}: ${done.error}`);
    }
  }, 400_000);

  afterAll(async () => {
    await stack?.stop();
  });

  const get = async <T>(path: string, status = 200): Promise<T> => {
    const response = await stack.request('GET', path);
    if (response.status !== status) throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body as T;
  };

  it('puts runs with different samples on different boards and never in one ranking', async () => {
    const boards = await get<{ boards: { key: string; completed: number; metrics: string[]; dataset: Record<string, unknown> }[] }>('/api/boards?dataset=mnist');
    expect(boards.boards.map((b) => b.key).sort()).toEqual([small, large].sort());
    expect(boards.boards.find((b) => b.key === small)).toMatchObject({ completed: 4, dataset: { name: 'mnist', samples: 200 } });
    expect(boards.boards.find((b) => b.key === large)!.metrics).toContain('accuracy');

    const onSmall = await get<RankingBody>(`/api/leaderboard?dataset=mnist&metric=accuracy&board=${small}`);
    expect(onSmall.boardKey).toBe(small);
    expect(onSmall.entries.map((e) => e.id).sort()).toEqual([ids.s1, ids.s2, ids.s3, ids.lr].sort());
    expect(onSmall.entries.every((e) => e.boardKey === small)).toBe(true);
    const onLarge = await get<RankingBody>(`/api/leaderboard?dataset=mnist&metric=accuracy&board=${large}`);
    expect(onLarge.entries.map((e) => e.id)).toEqual([ids.big]);
    const byDefault = await get<RankingBody>('/api/leaderboard?dataset=mnist&metric=accuracy');
    expect(byDefault.boardKey).toBe(defaultBoardOf('mnist').key);
    expect(byDefault.entries).toEqual([]);

    expect((await stack.request('GET', '/api/leaderboard?dataset=mnist&board=mnist-000000000000')).status).toBe(404);
    expect((await stack.request('GET', `/api/leaderboard?dataset=brown&board=${small}`)).status).toBe(404);
    const best = await get<RankingBody>(`/api/leaderboard?board=${small}&metric=accuracy&aggregate=best`);
    expect(best.entries).toHaveLength(4);
  });

  it('groups three seeds into n = 3 with the mean and std of their own final metrics', async () => {
    const values: number[] = [];
    for (const id of [ids.s1, ids.s2, ids.s3]) values.push((await get<ExperimentBody>(`/api/experiments/${id}`)).metrics!['accuracy']!);
    const mean = (values[0]! + values[1]! + values[2]!) / 3;
    const std = Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / 2);

    const byConfig = await get<{ aggregate: string; groups: GroupBody[] }>(`/api/leaderboard?board=${small}&metric=accuracy&groupBy=config&aggregate=mean`);
    expect(byConfig.aggregate).toBe('mean');
    const seeds = byConfig.groups.find((g) => g.ids.includes(ids.s1))!;
    expect(seeds.n).toBe(3);
    expect(seeds.ids.sort()).toEqual([ids.s1, ids.s2, ids.s3].sort());
    expect(seeds.mean).toBeCloseTo(mean, 10);
    expect(seeds.std).toBeCloseTo(std, 10);
    expect([seeds.min, seeds.max]).toEqual([Math.min(...values), Math.max(...values)]);
    expect(byConfig.groups.find((g) => g.ids.includes(ids.lr))).toMatchObject({ n: 1, std: null });

    const byRate = await get<{ groups: GroupBody[] }>(`/api/leaderboard?board=${small}&metric=accuracy&groupBy=training.learningRate&aggregate=mean`);
    expect(byRate.groups.map((g) => [g.group['training.learningRate'], g.n]).sort()).toEqual([
      [0.001, 3],
      [0.01, 1],
    ]);
    for (const bad of ['groupBy=model.blocks', 'groupBy=config,training.seed', 'groupBy=nope', 'aggregate=mean', 'groupBy=config&aggregate=best']) {
      const response = await stack.request('GET', `/api/leaderboard?board=${small}&${bad}`);
      expect(response.status).toBe(400);
      expect((response.body as ErrorBody).issues!.map((i) => i.field)).toEqual([expect.stringMatching(/^(groupBy|aggregate)$/)]);
    }
  });

  it.each([
    ['training.seed IN (1, 2)', ['s1', 's2', 'big']],
    ['dataset.samples = 300', ['big']],
    ['training.learningRate < 0.005 AND dataset.samples = 200', ['s1', 's2', 's3']],
    ['NOT (training.seed = 1) AND training.learningRate >= 0.01', ['lr']],
    ['training.seed NOT IN (1, 2, 3) OR dataset.samples != 200', ['lr', 'big']],
    ["name IN ('b-s1', 'b-lr')", ['s1', 'lr']],
    ["model.family = 'cnn' AND status = 'completed'", ['s1', 's2', 's3', 'lr', 'big']],
    ["model.family = 'lstm'", []],
    ['metrics.accuracy >= 0 AND ranks = 1', ['s1', 's2', 's3', 'lr', 'big']],
    ["createdAt >= '2000-01-01' AND training.maxSteps = 30", ['s1', 's2', 's3', 'lr', 'big']],
    ["name = 'x'' OR ''1''=''1'", []],
    ['', ['s1', 's2', 's3', 'lr', 'big']],
  ] as [string, (keyof typeof ids)[]][])('filter %j on the experiment list returns exactly %j', async (filter, expected) => {
    const page = await get<{ items: { id: string }[]; total: number }>(`/api/experiments?pageSize=100&filter=${q(filter)}`);
    expect(page.items.map((e) => e.id).sort()).toEqual(expected.map((k) => ids[k]).sort());
    expect(page.total).toBe(expected.length);
  });

  it('filters a ranking within its board', async () => {
    const ranking = await get<RankingBody>(`/api/leaderboard?board=${small}&metric=accuracy&filter=${q('training.seed <= 2 OR training.learningRate = 0.01')}`);
    expect(ranking.entries.map((e) => e.id).sort()).toEqual([ids.s1, ids.s2, ids.lr].sort());
  });

  it.each([
    "name = 'x' OR 1=1",
    "name = 'x'; DROP TABLE experiments",
    '1=1; DROP TABLE experiments',
    "name = 'x' -- comment",
    "/* comment */ name = 'x'",
    "name = 'x'); DROP TABLE experiments; --",
    'name = "x"',
    "name = 'unterminated",
    "n\u0430me = 'x'",
    "name = 'x' \u2028 OR \uFEFF 1",
    "metrics.accuracy' = 1",
    'training.seed = 1 UNION SELECT * FROM experiments',
    '('.repeat(10_240),
  ])('rejects the filter %#, with the position and what was expected, and changes nothing', async (filter) => {
    for (const path of [`/api/experiments?filter=${q(filter)}`, `/api/leaderboard?board=${small}&filter=${q(filter)}`]) {
      const response = await stack.request('GET', path);
      expect(response.status).toBe(400);
      const body = response.body as ErrorBody;
      expect(body.issues!.map((i) => i.field)).toEqual(['filter']);
      expect(typeof body.position).toBe('number');
      expect(body.expected!.length).toBeGreaterThan(0);
    }
    const all = await get<{ total: number }>('/api/experiments?pageSize=1');
    expect(all.total).toBe(5);
    expect((await get<RankingBody>(`/api/leaderboard?board=${small}`)).entries).toHaveLength(4);
  });

  it('shows what the queue knows of a run, lists the worker, and pauses and resumes the queue (priority included)', async () => {
    const view = await get<ExperimentBody & { boardKey: string; queue: { attempts: number; stalls: number | null; waitingMs: number; trainingMs: number | null; worker: string | null; state: string | null } }>(`/api/experiments/${ids.s1}`);
    expect(view.boardKey).toBe(small);
    expect(view.queue).toMatchObject({ attempts: 1, worker: 'worker-1', state: 'completed', stalls: 0 });
    expect(view.queue.trainingMs).toBeGreaterThanOrEqual(0);
    expect(view.queue.waitingMs).toBeGreaterThanOrEqual(0);

    const workers = await get<{ workers: { id: string; state: string; backend: string; jobsDone: number; maxRanks: number; currentExperiments: string[] }[] }>('/api/workers');
    expect(workers.workers.find((w) => w.id === 'worker-1')).toMatchObject({ state: 'live', backend: 'wasm', jobsDone: 5, maxRanks: 2, currentExperiments: [] });

    const before = await get<{ paused: boolean; counts: Record<string, number> }>('/api/queue');
    expect(before).toMatchObject({ paused: false, counts: { completed: 5, active: 0 } });
    const paused = await stack.request('POST', '/api/queue/pause');
    expect(paused.status).toBe(200);
    expect((paused.body as { paused: boolean }).paused).toBe(true);
    const held = await stack.request('POST', '/api/experiments', { ...spec('b-priority', 200, 9, 0.001), training: { ...spec('', 200, 9, 0.001).training, priority: 3 } });
    expect(held.status).toBe(201);
    const heldId = (held.body as ExperimentBody).id;
    await new Promise((r) => setTimeout(r, 2_000));
    const waiting = await get<ExperimentBody & { queue: { state: string | null } }>(`/api/experiments/${heldId}`);
    expect(waiting.status).toBe('queued');
    expect(waiting.queue.state).not.toBe('active');
    expect((await stack.request('POST', '/api/queue/resume')).status).toBe(200);
    const done = await eventually(
      async () => {
        const body = await get<ExperimentBody>(`/api/experiments/${heldId}`);
        return body.status === 'completed' ? body : undefined;
      },
      120_000,
      'the held experiment to complete after resume',
    );
    expect(done.status).toBe('completed');
    await stack.kill('worker-1', 'SIGKILL');
    const lost = await eventually(
      async () => {
        const list = await get<{ workers: { id: string; state: string }[] }>('/api/workers');
        return list.workers.find((w) => w.id === 'worker-1' && w.state === 'lost');
      },
      40_000,
      'the killed worker to be listed as lost',
    );
    expect(lost.state).toBe('lost');
  }, 200_000);

  it('compares runs listing exactly the differing spec paths, with final metrics and aligned curves', async () => {
    const result = await get<{ differences: string[]; differing: Record<string, unknown[]>; same: Record<string, unknown>; runs: { id: string; metrics: Record<string, number> }[]; curves: { split: string; metric: string; epochs: number[]; values: Record<string, (number | null)[]> }[] }>(
      `/api/compare?ids=${ids.s1},${ids.lr},${ids.big}`,
    );
    expect(result.differences).toEqual(['dataset.samples', 'name', 'training.learningRate', 'training.seed']);
    expect(result.differing['training.learningRate']).toEqual([0.001, 0.01, 0.001]);
    expect(result.same).toMatchObject({ 'model.family': 'cnn', 'training.maxSteps': 30 });
    expect(result.runs.map((r) => r.id)).toEqual([ids.s1, ids.lr, ids.big]);
    expect(result.runs.every((r) => typeof r.metrics['accuracy'] === 'number')).toBe(true);
    const curve = result.curves.find((c) => c.split === 'validation' && c.metric === 'accuracy')!;
    // 30 steps are 3 epochs of 200 digits and 2 of 300: the big run has no third point.
    expect(curve.epochs).toEqual([1, 2, 3]);
    expect(Object.keys(curve.values).sort()).toEqual([ids.s1, ids.lr, ids.big].sort());
    expect(curve.values[ids.big]![2]).toBeNull();

    const unknown = '00000000-0000-4000-8000-000000000000';
    const missing = await stack.request('GET', `/api/compare?ids=${ids.s1},${unknown}`);
    expect(missing.status).toBe(404);
    expect((missing.body as ErrorBody).message).toContain(unknown);
    expect((await stack.request('GET', '/api/compare?ids=')).status).toBe(400);
  });
});
