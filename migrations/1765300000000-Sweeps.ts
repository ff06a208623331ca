import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sweeps (issue 13): the `sweeps` table, and `experiments.sweepId` (nullable: most experiments
 * are no trial), indexed with the status because a sweep's scheduler counts its live trials.
 * SQLite adds the column in place (a rebuild would cascade-delete metrics and checkpoints).
 */
export class Sweeps1765300000000 implements MigrationInterface {
  name = 'Sweeps1765300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type === 'postgres') {
      await queryRunner.query(
        `CREATE TABLE "sweeps" ("id" character varying(36) NOT NULL, "key" character varying(64) NOT NULL, "name" character varying(200), "kind" character varying(16) NOT NULL, "request" text NOT NULL, "status" character varying(16) NOT NULL, "stops" text NOT NULL, "stoppedBy" text, "epochTimes" text NOT NULL, "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "finishedAt" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_07c638010e068c3d9759020a31a" PRIMARY KEY ("id"))`,
      );
      await queryRunner.query(`ALTER TABLE "experiments" ADD "sweepId" character varying(36)`);
    } else {
      await queryRunner.query(
        `CREATE TABLE "sweeps" ("id" varchar(36) PRIMARY KEY NOT NULL, "key" varchar(64) NOT NULL, "name" varchar(200), "kind" varchar(16) NOT NULL, "request" text NOT NULL, "status" varchar(16) NOT NULL, "stops" text NOT NULL, "stoppedBy" text, "epochTimes" text NOT NULL, "createdAt" datetime NOT NULL DEFAULT (datetime('now')), "finishedAt" datetime)`,
      );
      await queryRunner.query(`ALTER TABLE "experiments" ADD COLUMN "sweepId" varchar(36)`);
    }
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_sweeps_key" ON "sweeps" ("key") `);
    await queryRunner.query(`CREATE INDEX "IDX_experiments_sweep" ON "experiments" ("sweepId", "status") `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_experiments_sweep"`);
    await queryRunner.query(`ALTER TABLE "experiments" DROP COLUMN "sweepId"`);
    await queryRunner.query(`DROP INDEX "UQ_sweeps_key"`);
    await queryRunner.query(`DROP TABLE "sweeps"`);
  }
}
