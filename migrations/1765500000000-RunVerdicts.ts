import type { MigrationInterface, QueryRunner } from 'typeorm';
import { compareWithBaseline, type MetricValues } from '@tfleet/contracts';

/** A placeholder for the n-th (1-based) parameter in the connection's dialect. */
const param = (queryRunner: QueryRunner, n: number): string => (queryRunner.connection.driver.options.type === 'postgres' ? `$${n}` : '?');

/**
 * How a run ended, beyond its status (issue 14):
 * - `belowBaseline`: a completed run whose final metric is no better than its data set's trivial
 *   predictor (compareWithBaseline); leaderboards list such runs apart. Null when no baseline
 *   applies or the run has not completed. Backfilled for completed rows from their stored test
 *   metrics and baselines.
 * - `divergedAtStep`, `lastFiniteLoss`: where a `diverged` run's loss stopped being finite.
 * Status `diverged` needs no schema change (the column is free text without a CHECK).
 */
export class RunVerdicts1765500000000 implements MigrationInterface {
  name = 'RunVerdicts1765500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const pg = queryRunner.connection.driver.options.type === 'postgres';
    await queryRunner.query(`ALTER TABLE "experiments" ADD COLUMN "belowBaseline" boolean`);
    await queryRunner.query(`ALTER TABLE "experiments" ADD COLUMN "divergedAtStep" integer`);
    await queryRunner.query(`ALTER TABLE "experiments" ADD COLUMN "lastFiniteLoss" ${pg ? 'double precision' : 'real'}`);
    // Both are JSON text (simple-json) on either database.
    const rows = (await queryRunner.query(`SELECT "id", "testMetrics", "baselines" FROM "experiments" WHERE "status" = 'completed'`)) as { id: string; testMetrics: string | null; baselines: string | null }[];
    for (const row of rows) {
      const verdict = compareWithBaseline(parseMetrics(row.testMetrics), parseMetrics(row.baselines));
      if (verdict === null) continue;
      await queryRunner.query(`UPDATE "experiments" SET "belowBaseline" = ${param(queryRunner, 1)} WHERE "id" = ${param(queryRunner, 2)}`, [pg ? verdict.belowBaseline : Number(verdict.belowBaseline), row.id]);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "experiments" DROP COLUMN "lastFiniteLoss"`);
    await queryRunner.query(`ALTER TABLE "experiments" DROP COLUMN "divergedAtStep"`);
    await queryRunner.query(`ALTER TABLE "experiments" DROP COLUMN "belowBaseline"`);
  }
}

function parseMetrics(text: string | null): MetricValues | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as MetricValues) : null;
  } catch {
    return null;
  }
}
