import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { boardOf, configKeyOf, defaultBoardOf, type ExperimentSpecInput, parseExperimentSpec, type RuntimeInfo } from '@tfleet/contracts';
import { MIGRATIONS } from '@tfleet/migrations';
import { entitySchemas, ExperimentsRepository, openDatabase, postgresDataSourceOptions } from '@tfleet/persistence';
import { FilterError } from '@tfleet/query';
import { createTestDatabase, type TestDatabase } from '../utils/postgres.util';
import { expectFailedRowFailsAlone, expectGroupedQueuedInserts } from '../utils/queued-inserts.util';

const runtime: RuntimeInfo = {
  backend: 'wasm',
  device: 'cpu',
  ranks: 2,
  rankTransport: 'threads',
  seed: 1,
  tfjsVersion: '4.22.0',
  nodeVersion: process.version,
  tfleetVersion: '0.1.0',
  workerId: 'w1',
  hostname: 'h',
};

const spec = (samples: number, seed: number): ExperimentSpecInput => ({ dataset: { name: 'mnist', samples }, model: { family: 'cnn' }, training: { seed } });

describe('the control plane on PostgreSQL (a database of its own, created and dropped)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let repository: ExperimentsRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await openDatabase({ postgres: db.url });
    repository = new ExperimentsRepository(dataSource);
  });

  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await db?.drop();
  });

  const addRun = async (input: ExperimentSpecInput, test: Record<string, number>, validation: number[]): Promise<string> => {
    const parsed = parseExperimentSpec(input);
    if (!parsed.ok) throw new Error('spec');
    const id = randomUUID();
    await repository.insertQueued(id, parsed.value);
    await repository.markRunning(id, 1, runtime, 10, new Date());
    for (const [i, accuracy] of validation.entries()) await repository.recordMetrics(id, 1, i + 1, i + 1, { validation: { accuracy } }, new Date());
    await repository.complete(id, 1, { test, baselines: {}, steps: 1, epochs: validation.length, samplesPerSecond: 1.5, wallTimeMs: 2, scalingEfficiency: null }, new Date());
    return id;
  };

  it('a queued insert returns exactly the row a later read finds (it is not read back)', async () => {
    const parsed = parseExperimentSpec({ name: 'returned row', ...spec(300, 4) });
    if (!parsed.ok) throw new Error('spec');
    const id = randomUUID();
    const returned = await repository.insertQueued(id, parsed.value);
    const stored = await repository.findById(id);
    expect(stored).not.toBeNull();
    expect({ ...returned }).toEqual({ ...stored! });
    await repository.delete(id);
  });

  it('submissions arriving together are written by one statement per group, each returning the row later read', async () => {
    const parsed = parseExperimentSpec(spec(300, 4));
    if (!parsed.ok) throw new Error('spec');
    await expectGroupedQueuedInserts(repository, dataSource, parsed.value);
  });

  it('a submission whose row cannot be written fails alone; the others of its group are stored', async () => {
    const parsed = parseExperimentSpec(spec(300, 4));
    if (!parsed.ok) throw new Error('spec');
    await expectFailedRowFailsAlone(repository, parsed.value);
  });

  it('the migrations create exactly the schema the entities describe, with double precision values and UTC timestamps', async () => {
    expect((await dataSource.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query)).toEqual([]);
    const columns = (await dataSource.query(
      `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE (table_name, column_name) IN (('experiment_metrics', 'value'), ('experiments', 'createdAt'), ('checkpoints', 'metricValue'))`,
    )) as { table_name: string; column_name: string; data_type: string }[];
    expect(Object.fromEntries(columns.map((c) => [`${c.table_name}.${c.column_name}`, c.data_type]))).toEqual({
      'experiment_metrics.value': 'double precision',
      'experiments.createdAt': 'timestamp with time zone',
      'checkpoints.metricValue': 'double precision',
    });
    expect(((await dataSource.query('SHOW TIME ZONE')) as { TimeZone: string }[])[0]!.TimeZone).toBe('UTC');
  });

  it('runs the repository: boards, rankings (final and best), filters with exact doubles and dates, idempotent upserts', async () => {
    const a = await addRun(spec(200, 1), { accuracy: 0.97, loss: 0.1 }, [0.5, 0.99]);
    const b = await addRun(spec(200, 2), { accuracy: 0.95, loss: 0.2 }, [0.96]);
    const c = await addRun(spec(300, 1), { accuracy: 1.0, loss: 0.01 }, [1.0]);
    await repository.recordMetrics(a, 1, 1, 1, { validation: { accuracy: 0.5 } }, new Date());

    const small = boardOf({ name: 'mnist', samples: 200 }).key;
    const final = await repository.leaderboard({ boardKey: small, metric: 'accuracy', order: 'desc', limit: 10 });
    expect(final.map((r) => [r.experiment.id, r.value])).toEqual([
      [a, 0.97],
      [b, 0.95],
    ]);
    const best = await repository.leaderboard({ boardKey: small, metric: 'accuracy', order: 'desc', limit: 10, value: 'best' });
    expect(best.map((r) => [r.experiment.id, r.value])).toEqual([
      [a, 0.99],
      [b, 0.96],
    ]);
    expect(await repository.leaderboard({ boardKey: defaultBoardOf('mnist').key, metric: 'accuracy', order: 'desc', limit: 10 })).toEqual([]);

    const boards = await repository.boards('mnist');
    expect(boards.map((x) => [x.key, x.completed, x.metrics])).toEqual(
      [
        [small, 2, ['accuracy', 'loss']],
        [boardOf({ name: 'mnist', samples: 300 }).key, 1, ['accuracy', 'loss']],
      ].sort((x, y) => ((x[0] as string) < (y[0] as string) ? -1 : 1)),
    );

    const ids = async (filter: string) => (await repository.list({ page: 1, pageSize: 50, filter })).items.map((e) => e.id).sort();
    expect(await ids('metrics.accuracy = 0.97')).toEqual([a]);
    expect(await ids("training.seed = 1 AND dataset.samples IN (200, 300) AND createdAt >= '2000-01-01'")).toEqual([a, c].sort());
    expect(await ids('NOT (metrics.loss < 0.15) OR ranks != 2')).toEqual([b]);
    expect(await ids("createdAt > '2999-01-01'")).toEqual([]);
    await expect(repository.list({ page: 1, pageSize: 5, filter: "name = 'x'; DROP TABLE experiments" })).rejects.toBeInstanceOf(FilterError);
    expect((await repository.list({ page: 1, pageSize: 5 })).total).toBe(3);

    const stored = (await repository.findById(a))!;
    expect(Math.abs(stored.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect((await repository.metricHistory(a)).filter((m) => m.split === 'validation').map((m) => m.value)).toEqual([0.5, 0.99]);
    expect((await repository.curvePoints([a, b])).length).toBe(3);
  });

  it('flags a completed run below its baseline and ranks it apart; backfills the flag on PostgreSQL too', async () => {
    const parsed = parseExperimentSpec(spec(333, 7));
    if (!parsed.ok) throw new Error('spec');
    const board = boardOf(parsed.value.dataset).key;
    const runs: Record<string, string> = {};
    for (const [name, accuracy] of [['collapsed', 0.1], ['working', 0.9]] as const) {
      const id = randomUUID();
      runs[name] = id;
      await repository.insertQueued(id, parsed.value);
      await repository.markRunning(id, 1, runtime, 10, new Date());
      await repository.complete(id, 1, { test: { accuracy }, baselines: { majorityAccuracy: 0.2 }, steps: 1, epochs: 1, samplesPerSecond: 1, wallTimeMs: 1, scalingEfficiency: null }, new Date());
    }
    expect((await repository.findById(runs['collapsed']!))!.belowBaseline).toBe(true);
    expect((await repository.findById(runs['working']!))!.belowBaseline).toBe(false);
    const ranked = await repository.leaderboard({ boardKey: board, metric: 'accuracy', order: 'desc', limit: 10 });
    expect(ranked.map((r) => r.experiment.id)).toEqual([runs['working']]);
    const apart = await repository.leaderboard({ boardKey: board, metric: 'accuracy', order: 'desc', limit: 10, belowBaseline: true });
    expect(apart.map((r) => r.experiment.id)).toEqual([runs['collapsed']]);

    const other = await createTestDatabase();
    try {
      const early = new DataSource({ ...postgresDataSourceOptions(other.url), entities: [], migrations: MIGRATIONS.slice(0, MIGRATIONS.findIndex((m) => m.name === 'RunVerdicts1765500000000')) });
      await early.initialize();
      await early.runMigrations({ transaction: 'all' });
      await early.query(`INSERT INTO "experiments" ("id", "spec", "datasetName", "modelFamily", "status", "testMetrics", "baselines") VALUES ('low', $1, 'mnist', 'cnn', 'completed', $2, $3)`, [JSON.stringify(spec(200, 1)), JSON.stringify({ accuracy: 0.1 }), JSON.stringify({ majorityAccuracy: 0.2 })]);
      await early.destroy();
      const full = new DataSource({ ...postgresDataSourceOptions(other.url), entities: entitySchemas('postgres') });
      await full.initialize();
      await full.runMigrations({ transaction: 'all' });
      expect(await full.query(`SELECT "belowBaseline" FROM "experiments"`)).toEqual([{ belowBaseline: true }]);
      await full.destroy();
    } finally {
      await other.drop();
    }
  });

  it('reads grouping values in SQL as the specs have them (numbers, booleans, strings, absent as null) and config from the configKey written at insert', async () => {
    const rnn = (bidirectional: boolean, units: number, seed: number): ExperimentSpecInput => ({ dataset: { name: 'brown', level: 'char' }, model: { family: 'gru', bidirectional, units }, training: { seed, learningRate: 0.003 } });
    const x = await addRun(rnn(true, 64, 1), { accuracy: 0.4 }, []);
    const y = await addRun(rnn(true, 64, 2), { accuracy: 0.5 }, []);
    const z = await addRun(rnn(false, 32, 1), { accuracy: 0.3 }, []);
    const query = { boardKey: boardOf({ name: 'brown', level: 'char' }).key, metric: 'accuracy', order: 'desc' as const, limit: null };
    const rows = await repository.rankedGroupRows(query, { paths: ['model.bidirectional', 'model.units', 'training.learningRate', 'model.family', 'dataset.level', 'model.dModel'] });
    expect(rows.sort((p, q) => p.value - q.value)).toEqual([
      { id: z, value: 0.3, groups: [false, 32, 0.003, 'gru', 'char', null] },
      { id: x, value: 0.4, groups: [true, 64, 0.003, 'gru', 'char', null] },
      { id: y, value: 0.5, groups: [true, 64, 0.003, 'gru', 'char', null] },
    ]);
    const configs = await repository.rankedGroupRows(query, 'config');
    expect(new Map(configs.map((r) => [r.id, r.groups[0]]))).toEqual(
      new Map([
        [x, configKeyOf(rnn(true, 64, 1))],
        [y, configKeyOf(rnn(true, 64, 1))],
        [z, configKeyOf(rnn(false, 32, 1))],
      ]),
    );
  });

  it('backfills board keys on PostgreSQL too, and every migration goes down again', async () => {
    const other = await createTestDatabase();
    try {
      const early = new DataSource({ ...postgresDataSourceOptions(other.url), entities: [], migrations: MIGRATIONS.slice(0, 2) });
      await early.initialize();
      await early.runMigrations({ transaction: 'all' });
      await early.query(`INSERT INTO "experiments" ("id", "spec", "datasetName", "modelFamily", "status") VALUES ($1, $2, 'mnist', 'cnn', 'completed')`, ['x', JSON.stringify(spec(200, 1))]);
      await early.destroy();
      const full = new DataSource({ ...postgresDataSourceOptions(other.url), entities: entitySchemas('postgres') });
      await full.initialize();
      await full.runMigrations({ transaction: 'all' });
      expect(await full.query(`SELECT "boardKey", "configKey" FROM "experiments"`)).toEqual([{ boardKey: boardOf({ name: 'mnist', samples: 200 }).key, configKey: configKeyOf(spec(200, 1)) }]);
      for (let i = 0; i < MIGRATIONS.length; i++) await full.undoLastMigration({ transaction: 'all' });
      expect(await full.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations'`)).toEqual([]);
      await full.destroy();
    } finally {
      await other.drop();
    }
  });
});
