import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from './index';
import { RunVerdicts1765500000000 } from './1765500000000-RunVerdicts';

describe('RunVerdicts migration (a SQLite file written before it)', () => {
  it('backfills belowBaseline for completed runs from their stored metrics and baselines, and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tfleet-migration-'));
    const database = join(dir, 'old.sqlite');
    try {
      const before = new DataSource({ type: 'sqlite', database, migrations: MIGRATIONS.slice(0, MIGRATIONS.indexOf(RunVerdicts1765500000000)) });
      await before.initialize();
      await before.runMigrations({ transaction: 'all' });
      const insert = (id: string, status: string, test: unknown, baselines: unknown) =>
        before.query(`INSERT INTO "experiments" ("id", "spec", "datasetName", "modelFamily", "status", "testMetrics", "baselines") VALUES (?, '{}', 'mnist', 'cnn', ?, ?, ?)`, [
          id,
          status,
          test === null ? null : JSON.stringify(test),
          baselines === null ? null : JSON.stringify(baselines),
        ]);
      await insert('collapsed', 'completed', { accuracy: 0.135, loss: 2.3 }, { majorityAccuracy: 0.1135 + 0.05 });
      await insert('working', 'completed', { accuracy: 0.98 }, { majorityAccuracy: 0.1135 });
      await insert('no-baseline', 'completed', { accuracy: 0.98 }, {});
      await insert('failed', 'failed', null, null);
      await insert('garbled', 'completed', '{not json', null);
      await before.destroy();

      const after = new DataSource({ type: 'sqlite', database, migrations: MIGRATIONS });
      await after.initialize();
      expect((await after.runMigrations({ transaction: 'all' })).map((m) => m.name)).toContain('RunVerdicts1765500000000');
      const rows = (await after.query(`SELECT "id", "belowBaseline", "divergedAtStep", "lastFiniteLoss" FROM "experiments" ORDER BY "id"`)) as { id: string; belowBaseline: number | null }[];
      expect(Object.fromEntries(rows.map((r) => [r.id, r.belowBaseline]))).toEqual({ collapsed: 1, working: 0, 'no-baseline': null, failed: null, garbled: null });
      for (let i = MIGRATIONS.indexOf(RunVerdicts1765500000000); i < MIGRATIONS.length; i++) await after.undoLastMigration({ transaction: 'all' });
      const columns = ((await after.query(`PRAGMA table_info("experiments")`)) as { name: string }[]).map((c) => c.name);
      expect(columns).not.toContain('belowBaseline');
      expect(columns).not.toContain('divergedAtStep');
      expect(columns).not.toContain('lastFiniteLoss');
      await after.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
