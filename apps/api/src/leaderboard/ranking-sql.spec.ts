import { boardOf, configKeyOf, defaultBoardOf, type ExperimentSpecInput } from '@tfleet/contracts';
import { ExperimentsRepository } from '@tfleet/persistence';
import { openRunsFixture, type RunsFixture } from '../testing/runs.fixture';
import { type GroupedRanking, LeaderboardService, type Ranking } from './leaderboard.service';

/** One stored run as the test knows it, to rank and group independently of the SQL. */
interface Known {
  id: string;
  /** When the row was stored (the database's clock: runs stored in one second tie, and the id decides). */
  createdAt: number;
  spec: ExperimentSpecInput & { training: { learningRate: number; batchSize: number; seed: number } };
  accuracy: number;
  loss: number;
}

const RATES = [0.0003, 0.001, 0.003, 0.01];
const BATCHES = [32, 64];

/** Sample standard deviation, written out here rather than taken from groupStats. */
function sampleStd(values: number[]): number | null {
  if (values.length < 2) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
}

describe('ranking and grouping in SQL (a real SQLite file)', () => {
  let fixture: RunsFixture;
  let service: LeaderboardService;
  /** The same database, ranking first among the 2 x limit best values (min 1): both outcomes of the window with a few runs. */
  let narrow: LeaderboardService;
  const mnist: Known[] = [];
  const brown: { id: string; bidirectional: boolean; accuracy: number }[] = [];

  beforeAll(async () => {
    fixture = await openRunsFixture();
    service = new LeaderboardService(fixture.repository);
    narrow = new LeaderboardService(new ExperimentsRepository(fixture.dataSource, { rankingWindow: { perEntry: 2, min: 1 } }));
    for (let i = 0; i < 48; i++) {
      const spec = { dataset: { name: 'mnist' as const }, model: { family: 'cnn' as const, denseUnits: [16] }, training: { learningRate: RATES[i % 4]!, batchSize: BATCHES[Math.floor(i / 4) % 2]!, seed: Math.floor(i / 8) } };
      // Few distinct values, so ties fall across the window's edge; loss is not accuracy's mirror.
      const accuracy = 0.5 + ((i * 7) % 12) / 40;
      const loss = 0.2 + ((i * 5) % 9) / 20;
      mnist.push({ id: await fixture.addRun(spec, { test: { accuracy, loss } }), createdAt: 0, spec, accuracy, loss });
    }
    // Better than any default-board run, on another board: never ranked there.
    await fixture.addRun({ dataset: { name: 'mnist', samples: 200 }, model: { family: 'cnn' } }, { test: { accuracy: 1, loss: 0 } });
    for (let i = 0; i < 6; i++) {
      const bidirectional = i % 2 === 0;
      const accuracy = 0.3 + i / 100;
      brown.push({ id: await fixture.addRun({ dataset: { name: 'brown' }, model: { family: 'lstm', bidirectional }, training: { seed: i } }, { test: { accuracy } }), bidirectional, accuracy });
    }
    const stored = new Map((await fixture.repository.findByIds(mnist.map((r) => r.id))).map((e) => [e.id, e.createdAt.getTime()]));
    for (const run of mnist) run.createdAt = stored.get(run.id)!;
  });

  afterAll(async () => {
    await fixture.close();
  });

  /** The ranking by the rules: value, then the earlier run, then the id. */
  const expectedRanking = (runs: Known[], by: 'accuracy' | 'loss', order: 'asc' | 'desc', limit: number): string[] =>
    [...runs]
      .sort((a, b) => (order === 'asc' ? a[by] - b[by] : b[by] - a[by]) || a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
      .slice(0, limit)
      .map((r) => r.id);

  /** A group's runs, best first; a tie goes to the smaller id. */
  const groupOrder = (runs: Known[]): string[] =>
    [...runs].sort((a, b) => b.accuracy - a.accuracy || (a.id < b.id ? -1 : 1)).map((r) => r.id);

  const cases: { filter?: string; keep: (r: Known) => boolean }[] = [
    { keep: () => true },
    { filter: 'training.learningRate < 0.005', keep: (r) => r.spec.training.learningRate < 0.005 },
    // selective: few runs among any window of best accuracies, so the window must give way to the whole board
    { filter: 'metrics.loss > 0.55 AND training.batchSize = 64', keep: (r) => r.loss > 0.55 && r.spec.training.batchSize === 64 },
    { filter: "training.learningRate IN (0.01) OR metrics.loss < 0.3", keep: (r) => r.spec.training.learningRate === 0.01 || r.loss < 0.3 },
  ];

  it('ranks exactly as the rules say, windowed or not, for filters, both orders and limits', async () => {
    for (const { filter, keep } of cases) {
      for (const [metric, order] of [['accuracy', 'desc'], ['accuracy', 'asc'], ['loss', 'asc'], ['loss', 'desc']] as const) {
        for (const limit of [1, 3, 5, 20, 60]) {
          const expected = expectedRanking(mnist.filter(keep), metric, order, limit);
          for (const leaderboard of [service, narrow]) {
            const ranking = (await leaderboard.rank({ dataset: 'mnist', metric, order, limit, ...(filter ? { filter } : {}) })) as Ranking;
            expect({ filter, metric, order, limit, ids: ranking.entries.map((e) => e.id) }).toEqual({ filter, metric, order, limit, ids: expected });
            expect(ranking.entries.map((e) => e.value)).toEqual(expected.map((id) => mnist.find((r) => r.id === id)![metric]));
          }
        }
      }
    }
  });

  it('groups by spec paths read in SQL: the groups, n, mean, std, min, max and ids (best first) computed here from the specs', async () => {
    const grouped = (await service.rank({ dataset: 'mnist', metric: 'accuracy', limit: 200, groupBy: ['training.learningRate', 'training.batchSize'], aggregate: 'mean' })) as GroupedRanking;
    const byKey = new Map<string, Known[]>();
    for (const run of mnist) {
      const key = `${run.spec.training.learningRate}/${run.spec.training.batchSize}`;
      byKey.set(key, [...(byKey.get(key) ?? []), run]);
    }
    expect(grouped.groups).toHaveLength(byKey.size);
    for (const group of grouped.groups) {
      const runs = byKey.get(`${String(group.group['training.learningRate'])}/${String(group.group['training.batchSize'])}`)!;
      const values = runs.map((r) => r.accuracy);
      expect(group.n).toBe(runs.length);
      expect(group.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 12);
      expect(group.std).toBeCloseTo(sampleStd(values)!, 12);
      expect([group.min, group.max]).toEqual([Math.min(...values), Math.max(...values)]);
      expect(group.ids).toEqual(groupOrder(runs));
    }
    const means = grouped.groups.map((g) => g.mean);
    expect(means).toEqual([...means].sort((a, b) => b - a));
  });

  it('gives a boolean spec value as true or false, as the spec has it', async () => {
    const grouped = (await service.rank({ board: boardOf({ name: 'brown' }).key, metric: 'accuracy', limit: 20, groupBy: ['model.bidirectional', 'model.family'], aggregate: 'mean' })) as GroupedRanking;
    expect(grouped.groups.map((g) => g.group)).toEqual([
      { 'model.bidirectional': false, 'model.family': 'lstm' },
      { 'model.bidirectional': true, 'model.family': 'lstm' },
    ]);
    expect(grouped.groups[0]!.ids).toEqual(brown.filter((r) => !r.bidirectional).sort((a, b) => b.accuracy - a.accuracy).map((r) => r.id));
  });

  it('groups by config from the stored configKey, and from the spec where a row has none (written before the column)', async () => {
    const byConfig = async () => (await service.rank({ dataset: 'mnist', metric: 'accuracy', limit: 200, groupBy: ['config'] })) as GroupedRanking;
    const expected = new Map<string, string[]>();
    for (const run of mnist) expected.set(configKeyOf(run.spec), [...(expected.get(configKeyOf(run.spec)) ?? []), run.id]);
    const stored = await byConfig();
    // seeds 0..5 of each learning rate and batch size: 8 configurations of 6 runs
    expect(stored.groups).toHaveLength(8);
    expect(stored.groups.every((g) => g.n === 6)).toBe(true);
    for (const group of stored.groups) expect(new Set(group.ids)).toEqual(new Set(expected.get(group.group['config'] as string)));

    await fixture.dataSource.query(`UPDATE "experiments" SET "configKey" = NULL WHERE "id" IN (?, ?)`, [mnist[0]!.id, mnist[9]!.id]);
    expect((await byConfig()).groups).toEqual(stored.groups);
    expect(defaultBoardOf('mnist').key).toBe(stored.boardKey);
  });
});
