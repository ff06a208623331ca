import type { MigrationInterface, QueryRunner } from 'typeorm';
import { boardOf, type DatasetSpecInput } from '@tfleet/contracts';

/** A placeholder for the n-th (1-based) parameter in the connection's dialect. */
const param = (queryRunner: QueryRunner, n: number): string => (queryRunner.connection.driver.options.type === 'postgres' ? `$${n}` : '?');

/**
 * The board each experiment is ranked on (issue 12): `boardOf(spec.dataset).key`, backfilled
 * for existing rows. A stored spec whose data set options no longer parse (written by an older
 * version) gets `<name>-unparsed`, a board of its own that no default leaderboard shows.
 * NOT NULL with an empty default, because SQLite adds a NOT NULL column only with a default
 * (rebuilding the table instead would cascade-delete metrics and checkpoints); every insert sets it.
 */
export class BoardKey1765000000000 implements MigrationInterface {
  name = 'BoardKey1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "experiments" ADD COLUMN "boardKey" varchar(80) NOT NULL DEFAULT ''`);
    // JSON text in SQLite, already parsed from jsonb in PostgreSQL.
    const rows = (await queryRunner.query(`SELECT "id", "datasetName", "spec" FROM "experiments"`)) as { id: string; datasetName: string; spec: string | { dataset: DatasetSpecInput } }[];
    for (const row of rows) {
      let key: string;
      try {
        const spec = typeof row.spec === 'string' ? (JSON.parse(row.spec) as { dataset: DatasetSpecInput }) : row.spec;
        key = boardOf(spec.dataset).key;
      } catch {
        key = `${row.datasetName}-unparsed`;
      }
      await queryRunner.query(`UPDATE "experiments" SET "boardKey" = ${param(queryRunner, 1)} WHERE "id" = ${param(queryRunner, 2)}`, [key, row.id]);
    }
    await queryRunner.query(`CREATE INDEX "IDX_experiments_board_status" ON "experiments" ("boardKey", "status")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_experiments_board_status"`);
    await queryRunner.query(`ALTER TABLE "experiments" DROP COLUMN "boardKey"`);
  }
}
