import { BadRequestException, NotFoundException } from '@nestjs/common';
import { boardOf, configKeyOf, defaultBoardOf } from '@tfleet/contracts';
import { openRunsFixture, type RunsFixture } from '../testing/runs.fixture';
import { type GroupedRanking, LeaderboardService, type Ranking } from './leaderboard.service';

const cnn = (extra: { dataset?: Record<string, unknown>; units?: number; seed?: number; lr?: number } = {}) => ({
  dataset: { name: 'mnist' as const, ...extra.dataset },
  model: { family: 'cnn' as const, denseUnits: [extra.units ?? 32] },
  training: { seed: extra.seed ?? 1, learningRate: extra.lr ?? 0.001 },
});

describe('LeaderboardService (a real SQLite file)', () => {
  let fixture: RunsFixture;
  let service: LeaderboardService;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    fixture = await openRunsFixture();
    service = new LeaderboardService(fixture.repository);
    ids['a'] = await fixture.addRun(cnn({ seed: 1 }), { test: { accuracy: 0.9, loss: 0.3 }, validation: [{ accuracy: 0.8 }, { accuracy: 0.95 }, { accuracy: 0.85 }] });
    ids['b'] = await fixture.addRun(cnn({ seed: 2 }), { test: { accuracy: 0.92, loss: 0.25 }, validation: [{ accuracy: 0.9 }, { accuracy: 0.91 }] });
    ids['c'] = await fixture.addRun(cnn({ seed: 3, units: 64 }), { test: { accuracy: 0.8, loss: 0.5 }, validation: [{ accuracy: 0.7 }] });
    ids['small'] = await fixture.addRun(cnn({ dataset: { samples: 200 } }), { test: { accuracy: 1.0, loss: 0.01 } });
    ids['queued'] = await fixture.addRun(cnn(), { status: 'queued' });
  });

  afterAll(async () => {
    await fixture.close();
  });

  it('ranks the default board only: a run on another board (samples: 200) never joins, however well it scored', async () => {
    const ranking = (await service.rank({ dataset: 'mnist', metric: 'accuracy', limit: 20 })) as Ranking;
    expect(ranking.boardKey).toBe(defaultBoardOf('mnist').key);
    expect(ranking.entries.map((e) => e.id)).toEqual([ids['b'], ids['a'], ids['c']]);
    expect(ranking.entries.every((e) => e.boardKey === ranking.boardKey)).toBe(true);
    expect(ranking.entries.map((e) => e.rank)).toEqual([1, 2, 3]);
  });

  it('ranks another board by its key, and says which one', async () => {
    const key = boardOf({ name: 'mnist', samples: 200 }).key;
    const ranking = (await service.rank({ dataset: 'mnist', board: key, metric: 'accuracy', limit: 20 })) as Ranking;
    expect(ranking.entries.map((e) => e.id)).toEqual([ids['small']]);
    expect(ranking.board).toMatchObject({ name: 'mnist', samples: 200 });
    expect((await service.rank({ board: key, metric: 'accuracy', limit: 20 })).dataset).toBe('mnist');
  });

  it('answers 404 for a board nobody ran on, or one of another data set', async () => {
    await expect(service.rank({ dataset: 'mnist', board: 'mnist-000000000000', metric: 'accuracy', limit: 5 })).rejects.toBeInstanceOf(NotFoundException);
    await expect(service.rank({ dataset: 'brown', board: defaultBoardOf('mnist').key, metric: 'accuracy', limit: 5 })).rejects.toBeInstanceOf(NotFoundException);
  });

  it('orders loss ascending by default and ranks by the best validation value with aggregate=best', async () => {
    const loss = (await service.rank({ dataset: 'mnist', metric: 'loss', limit: 20 })) as Ranking;
    expect(loss.order).toBe('asc');
    expect(loss.entries.map((e) => e.value)).toEqual([0.25, 0.3, 0.5]);
    const best = (await service.rank({ dataset: 'mnist', metric: 'accuracy', aggregate: 'best', limit: 20 })) as Ranking;
    expect(best.entries.map((e) => [e.id, e.value])).toEqual([
      [ids['a'], 0.95],
      [ids['b'], 0.91],
      [ids['c'], 0.7],
    ]);
  });

  it('applies a filter, treats an empty one as none, and makes a bad one a 400 with the position', async () => {
    const filtered = (await service.rank({ dataset: 'mnist', metric: 'accuracy', limit: 20, filter: 'model.family = \'cnn\' AND metrics.loss < 0.4' })) as Ranking;
    expect(filtered.entries.map((e) => e.id)).toEqual([ids['b'], ids['a']]);
    expect(((await service.rank({ dataset: 'mnist', metric: 'accuracy', limit: 20, filter: '  ' })) as Ranking).entries).toHaveLength(3);
    const error = await service.rank({ dataset: 'mnist', metric: 'accuracy', limit: 20, filter: 'metrics.loss <' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestException);
    expect((error as BadRequestException).getResponse()).toMatchObject({ position: 14, issues: [{ field: 'filter' }] });
  });

  it('groups by a spec path and by config, with n, mean, std, min, max and the ids', async () => {
    const byUnits = (await service.rank({ dataset: 'mnist', metric: 'accuracy', limit: 20, groupBy: ['training.seed'], aggregate: 'mean' })) as GroupedRanking;
    expect(byUnits.groups.map((g) => g.group)).toEqual([{ 'training.seed': 2 }, { 'training.seed': 1 }, { 'training.seed': 3 }]);
    const byConfig = (await service.rank({ dataset: 'mnist', metric: 'accuracy', limit: 20, groupBy: ['config'] })) as GroupedRanking;
    expect(byConfig.groups).toHaveLength(2);
    const pair = byConfig.groups[0]!;
    expect(pair.group).toEqual({ config: configKeyOf(cnn({ seed: 9 })) });
    expect(pair.ids).toEqual([ids['b'], ids['a']]);
    expect(pair.n).toBe(2);
    expect(pair.mean).toBeCloseTo(0.91, 12);
    expect(pair.std).toBeCloseTo(Math.SQRT2 * 0.01, 12);
    expect([pair.min, pair.max]).toEqual([0.9, 0.92]);
    expect(byConfig.groups[1]).toMatchObject({ n: 1, std: null, ids: [ids['c']] });
  });

  it('lists the boards of a data set with their canonical options, completed counts and metrics', async () => {
    const boards = await service.boards('mnist');
    expect(boards.map((b) => b.key)).toEqual([defaultBoardOf('mnist').key, boardOf({ name: 'mnist', samples: 200 }).key]);
    expect(boards[0]).toMatchObject({ default: true, experiments: 4, completed: 3, metrics: ['accuracy', 'loss'], dataset: defaultBoardOf('mnist').dataset });
    expect(boards[1]).toMatchObject({ default: false, experiments: 1, completed: 1 });
    expect(await service.boards('brown')).toEqual([]);
  });
});
