import type { MigrationInterface, QueryRunner } from 'typeorm';
import { configKeyOf, type ExperimentSpecInput } from '@tfleet/contracts';

/** A placeholder for the n-th (1-based) parameter in the connection's dialect. */
const param = (queryRunner: QueryRunner, n: number): string => (queryRunner.connection.driver.options.type === 'postgres' ? `$${n}` : '?');

/**
 * Each experiment's configuration key (`configKeyOf(spec)`: the spec less name, seed and
 * priority), written at insert and backfilled here, so `groupBy=config` groups by a column
 * instead of reading and hashing every run's spec per request. A stored spec that no longer
 * parses (written by an older version) keeps NULL: readers hash its spec themselves, as
 * before this column existed.
 */
export class ConfigKey1765200000000 implements MigrationInterface {
  name = 'ConfigKey1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "experiments" ADD COLUMN "configKey" varchar(32)`);
    // JSON text in SQLite, already parsed from jsonb in PostgreSQL.
    const rows = (await queryRunner.query(`SELECT "id", "spec" FROM "experiments"`)) as { id: string; spec: string | ExperimentSpecInput }[];
    for (const row of rows) {
      let key: string;
      try {
        key = configKeyOf(typeof row.spec === 'string' ? (JSON.parse(row.spec) as ExperimentSpecInput) : row.spec);
      } catch {
        continue;
      }
      await queryRunner.query(`UPDATE "experiments" SET "configKey" = ${param(queryRunner, 1)} WHERE "id" = ${param(queryRunner, 2)}`, [key, row.id]);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "experiments" DROP COLUMN "configKey"`);
  }
}
