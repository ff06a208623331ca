import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import type { RuntimeInfo } from '@tfleet/contracts';
import { ExperimentsRepository, openDatabase, SweepsRepository } from '@tfleet/persistence';
import { planSweep, sweepRequestSchema } from '@tfleet/sweeps';
import { createTestDatabase, type TestDatabase } from '../utils/postgres.util';

const runtime: RuntimeInfo = { backend: 'wasm', device: 'cpu', ranks: 1, rankTransport: 'threads', seed: 1, tfjsVersion: '4.22.0', nodeVersion: process.version, tfleetVersion: '0.1.0', workerId: 'w1', hostname: 'h' };

const request = sweepRequestSchema.parse({
  base: { dataset: { name: 'mnist', samples: 200 }, model: { family: 'cnn', blocks: [], denseUnits: [8] }, training: { epochs: 3 } },
  method: 'grid',
  space: { 'training.learningRate': { values: [0.001, 0.01, 0.1] } },
  seeds: [1, 2],
  maxConcurrent: 2,
});

/** The sweeps repository on one database: the same rules on SQLite and PostgreSQL. */
function sweepsRepositorySuite(name: string, open: () => Promise<{ dataSource: DataSource; close: () => Promise<void> }>) {
  describe(`SweepsRepository on ${name}`, () => {
    let dataSource: DataSource;
    let close: () => Promise<void>;
    let sweeps: SweepsRepository;
    let experiments: ExperimentsRepository;
    const plan = planSweep(request);
    if (!plan.ok) throw new Error('plan');

    beforeAll(async () => {
      ({ dataSource, close } = await open());
      sweeps = new SweepsRepository(dataSource);
      experiments = new ExperimentsRepository(dataSource);
    });
    afterAll(async () => close?.());

    it('stores a sweep with its trials once; the same key again stores nothing', async () => {
      const sweep = { id: plan.id, key: plan.key, name: null, kind: 'sweep', request: request as unknown as Record<string, unknown> };
      const trials = plan.trials.map((t) => ({ id: t.id, spec: t.spec, status: 'pending' as const }));
      expect((await sweeps.create(sweep, trials)).created).toBe(true);
      const again = await sweeps.create(sweep, trials);
      expect(again.created).toBe(false);
      expect(again.sweep).toMatchObject({ id: plan.id, status: 'running', stops: {}, epochTimes: {} });
      expect((await sweeps.trials(plan.id)).map((t) => t.id).sort()).toEqual(plan.trials.map((t) => t.id).sort());
      expect((await experiments.list({ page: 1, pageSize: 50, filter: `sweepId = '${plan.id}'` })).total).toBe(6);
    });

    it('promotes pending trials once, records points, stops a trial at a rung, and reports epochs per trial', async () => {
      const [a, b, c] = plan.trials.map((t) => t.id) as [string, string, string];
      expect(await sweeps.promote([a, b])).toEqual([a, b]);
      expect(await sweeps.promote([a, b])).toEqual([]);
      for (const id of [a, b]) await experiments.markRunning(id, 1, runtime, 10, new Date());
      await experiments.recordMetrics(a, 1, 1, 10, { train: { loss: 2 }, validation: { loss: 1.5 } }, new Date());
      await experiments.recordMetrics(b, 1, 1, 10, { train: { loss: 2.2 }, validation: { loss: 1.9 } }, new Date());
      await experiments.recordMetrics(a, 1, 2, 20, { train: { loss: 1 }, validation: { loss: 0.9 } }, new Date());
      const points = await sweeps.points(plan.id, 'loss');
      expect(points.filter((p) => p.split === 'validation' && p.epoch === 1).map((p) => [p.experimentId, p.value]).sort()).toEqual([[a, 1.5], [b, 1.9]].sort());
      expect(await sweeps.stopTrial(plan.id, b, { rung: 0, epoch: 1, metric: 'loss', value: 1.9, cutoff: 1.5 }, new Date())).toBe(true);
      expect(await sweeps.stopTrial(plan.id, b, { rung: 0, epoch: 1, metric: 'loss', value: 1.9, cutoff: 1.5 }, new Date())).toBe(false);
      expect((await experiments.findById(b))!.status).toBe('stopped');
      expect((await sweeps.findById(plan.id))!.stops[b]).toEqual({ rung: 0, epoch: 1, metric: 'loss', value: 1.9, cutoff: 1.5 });
      expect(Object.fromEntries(await sweeps.epochsByTrial(plan.id))).toEqual({ [a]: 2, [b]: 1 });
      await sweeps.recordEpochTime(plan.id, a, { epoch: 1, step: 10, wallTimeMs: 5, samplesPerSecond: 3 });
      await sweeps.recordEpochTime(plan.id, a, { epoch: 1, step: 10, wallTimeMs: 6, samplesPerSecond: 3 });
      expect((await sweeps.findById(plan.id))!.epochTimes[a]).toEqual([{ epoch: 1, step: 10, wallTimeMs: 6, samplesPerSecond: 3 }]);
      expect(await sweeps.promote([c])).toEqual([c]);
      await experiments.finish(c, 'failed', 'boom', new Date());
    });

    it('rerun resets failed and cancelled trials only, with their history; finishing ends every unfinished trial but the one kept', async () => {
      const [a, b, c, d] = plan.trials.map((t) => t.id) as [string, string, string, string];
      await experiments.finish(a, 'cancelled', null, new Date());
      expect((await sweeps.resetFailed(plan.id)).sort()).toEqual([a, c].sort());
      expect((await experiments.findById(a))!).toMatchObject({ status: 'pending', error: null, finishedAt: null });
      expect((await experiments.findById(b))!.status).toBe('stopped');
      expect(await experiments.metricHistory(a)).toEqual([]);
      expect(await sweeps.promote([a])).toEqual([a]);
      await experiments.markRunning(a, 2, runtime, 10, new Date());
      const ended = await sweeps.finishSweep(plan.id, 'completed', 'stopped', { trialId: a, metric: 'loss', value: 0.1 }, new Date(), a);
      expect(ended).toEqual({ finished: true, live: [] });
      expect((await experiments.findById(a))!.status).toBe('running');
      expect((await experiments.findById(d))!.status).toBe('stopped');
      expect((await sweeps.findById(plan.id))!).toMatchObject({ status: 'completed', stoppedBy: { trialId: a, metric: 'loss', value: 0.1 } });
      expect((await sweeps.finishSweep(plan.id, 'cancelled', 'cancelled', null, new Date())).finished).toBe(false);
      expect((await sweeps.list(1, 10)).items.map((s) => s.id)).toEqual([plan.id]);
    });
  });
}

sweepsRepositorySuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tfleet-sweeps-'));
  const dataSource = await openDatabase(join(dir, 'db.sqlite'));
  return {
    dataSource,
    close: async () => {
      await dataSource.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

sweepsRepositorySuite('PostgreSQL', async () => {
  const db: TestDatabase = await createTestDatabase();
  const dataSource = await openDatabase({ postgres: db.url });
  return {
    dataSource,
    close: async () => {
      await dataSource.destroy();
      await db.drop();
    },
  };
});
