import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each metric point remembers the attempt (execution) that measured it, so an experiment's
 * history can be shown to belong to its latest attempt alone. Points recorded before this
 * migration came from the attempt that the experiment row names, or from attempt 1.
 */
export class MetricAttempt1764950000000 implements MigrationInterface {
  name = 'MetricAttempt1764950000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "experiment_metrics" ADD COLUMN "attempt" integer NOT NULL DEFAULT 1`);
    await queryRunner.query(
      `UPDATE "experiment_metrics" SET "attempt" = (SELECT CASE WHEN e."attempt" > 0 THEN e."attempt" ELSE 1 END FROM "experiments" e WHERE e."id" = "experiment_metrics"."experimentId")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "experiment_metrics" DROP COLUMN "attempt"`);
  }
}
