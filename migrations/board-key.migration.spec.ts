import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { boardOf } from '@tfleet/contracts';
import { InitialSchema1764360000000 } from './1764360000000-InitialSchema';
import { MetricAttempt1764950000000 } from './1764950000000-MetricAttempt';
import { MIGRATIONS } from './index';

describe('BoardKey migration (a SQLite file written before it)', () => {
  it('backfills every existing row with boardOf its data set, and a legacy board for a spec that no longer parses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tfleet-migration-'));
    const database = join(dir, 'old.sqlite');
    try {
      const before = new DataSource({ type: 'sqlite', database, migrations: [InitialSchema1764360000000, MetricAttempt1764950000000] });
      await before.initialize();
      await before.runMigrations({ transaction: 'all' });
      const insert = (id: string, spec: string, dataset: string) =>
        before.query(`INSERT INTO "experiments" ("id", "spec", "datasetName", "modelFamily", "status") VALUES (?, ?, ?, 'cnn', 'completed')`, [id, spec, dataset]);
      await insert('a', JSON.stringify({ dataset: { name: 'mnist' }, model: { family: 'cnn' } }), 'mnist');
      await insert('b', JSON.stringify({ dataset: { name: 'mnist', samples: 200 }, model: { family: 'cnn' } }), 'mnist');
      await insert('c', JSON.stringify({ dataset: { name: 'brown', level: 'char', removedOption: 1 }, model: { family: 'lstm' } }), 'brown');
      await before.destroy();

      const after = new DataSource({ type: 'sqlite', database, migrations: MIGRATIONS });
      await after.initialize();
      const applied = (await after.runMigrations({ transaction: 'all' })).map((m) => m.name);
      expect(applied.slice(0, 2)).toEqual(['BoardKey1765000000000', 'MetricRankingIndex1765100000000']);
      const rows = (await after.query(`SELECT "id", "boardKey" FROM "experiments" ORDER BY "id"`)) as { id: string; boardKey: string }[];
      expect(rows).toEqual([
        { id: 'a', boardKey: boardOf({ name: 'mnist' }).key },
        { id: 'b', boardKey: boardOf({ name: 'mnist', samples: 200 }).key },
        { id: 'c', boardKey: 'brown-unparsed' },
      ]);
      expect(rows[0]!.boardKey).not.toBe(rows[1]!.boardKey);
      for (let i = 0; i < applied.length; i++) await after.undoLastMigration({ transaction: 'all' });
      expect(((await after.query(`PRAGMA table_info("experiments")`)) as { name: string }[]).map((c) => c.name)).not.toContain('boardKey');
      await after.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
