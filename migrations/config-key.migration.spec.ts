import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { configKeyOf, type ExperimentSpecInput } from '@tfleet/contracts';
import { InitialSchema1764360000000 } from './1764360000000-InitialSchema';
import { MetricAttempt1764950000000 } from './1764950000000-MetricAttempt';
import { BoardKey1765000000000 } from './1765000000000-BoardKey';
import { MetricRankingIndex1765100000000 } from './1765100000000-MetricRankingIndex';
import { MIGRATIONS } from './index';

describe('ConfigKey migration (a SQLite file written before it)', () => {
  it('backfills configKeyOf every parsable spec, shared by specs that differ only in seed and name, and NULL for a spec that no longer parses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tfleet-migration-'));
    const database = join(dir, 'old.sqlite');
    const seed1: ExperimentSpecInput = { name: 'a', dataset: { name: 'mnist' }, model: { family: 'cnn' }, training: { seed: 1 } };
    const seed2: ExperimentSpecInput = { name: 'b', dataset: { name: 'mnist' }, model: { family: 'cnn' }, training: { seed: 2 } };
    const otherRate: ExperimentSpecInput = { dataset: { name: 'mnist' }, model: { family: 'cnn' }, training: { seed: 1, learningRate: 0.1 } };
    try {
      const before = new DataSource({ type: 'sqlite', database, migrations: [InitialSchema1764360000000, MetricAttempt1764950000000, BoardKey1765000000000, MetricRankingIndex1765100000000] });
      await before.initialize();
      await before.runMigrations({ transaction: 'all' });
      const insert = (id: string, spec: unknown) =>
        before.query(`INSERT INTO "experiments" ("id", "spec", "datasetName", "modelFamily", "status") VALUES (?, ?, 'mnist', 'cnn', 'completed')`, [id, JSON.stringify(spec)]);
      await insert('a', seed1);
      await insert('b', seed2);
      await insert('c', otherRate);
      await insert('d', { dataset: { name: 'mnist', removedOption: 1 }, model: { family: 'cnn' } });
      await before.destroy();

      const after = new DataSource({ type: 'sqlite', database, migrations: MIGRATIONS });
      await after.initialize();
      const applied = (await after.runMigrations({ transaction: 'all' })).map((m) => m.name);
      expect(applied).toContain('ConfigKey1765200000000');
      const rows = (await after.query(`SELECT "id", "configKey" FROM "experiments" ORDER BY "id"`)) as { id: string; configKey: string | null }[];
      expect(rows).toEqual([
        { id: 'a', configKey: configKeyOf(seed1) },
        { id: 'b', configKey: configKeyOf(seed1) },
        { id: 'c', configKey: configKeyOf(otherRate) },
        { id: 'd', configKey: null },
      ]);
      expect(rows[0]!.configKey).toMatch(/^[0-9a-f]{16}$/);
      expect(rows[2]!.configKey).not.toBe(rows[0]!.configKey);
      for (let i = 0; i < applied.length; i++) await after.undoLastMigration({ transaction: 'all' });
      expect(((await after.query(`PRAGMA table_info("experiments")`)) as { name: string }[]).map((c) => c.name)).not.toContain('configKey');
      await after.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
