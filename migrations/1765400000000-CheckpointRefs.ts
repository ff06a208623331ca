import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Checkpoints leave the database for the checkpoint store (@tfleet/artifacts, TFLEET_ARTIFACTS_DIR):
 * a row keeps the reference to its file (`ref`) and, for keeping the best ones, the value of the
 * spec's keepCheckpoints metric at its epoch (`metricValue`); the weights, optimizer state and
 * cursor columns go. Experiments remember the step their current attempt resumed from.
 *
 * Rows written before this migration held their weights inline; they are deleted, not moved to
 * the store: the migration does not know the store's directory (an API setting, possibly a volume
 * the migrating process cannot reach). What that costs: an unfinished run retried after the
 * upgrade starts from step 0, and a completed BERT pretraining run can no longer be fine-tuned
 * from (its final checkpoint is gone: train it again). Going down deletes them too (the old
 * table requires the inline weights).
 */
export class CheckpointRefs1765400000000 implements MigrationInterface {
  name = 'CheckpointRefs1765400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "checkpoints"`);
    if (queryRunner.connection.options.type === 'postgres') {
      for (const column of ['modelTopology', 'weightSpecs', 'weights', 'optimizerSpecs', 'optimizerWeights', 'state']) await queryRunner.query(`ALTER TABLE "checkpoints" DROP COLUMN "${column}"`);
      await queryRunner.query(`ALTER TABLE "checkpoints" ADD "ref" character varying(120) NOT NULL`);
      await queryRunner.query(`ALTER TABLE "checkpoints" ADD "metricValue" double precision`);
      await queryRunner.query(`ALTER TABLE "experiments" ADD "resumedFromStep" integer`);
      return;
    }
    // SQLite cannot drop columns that an index or constraint names: the table is rebuilt (it is empty).
    await queryRunner.query(`DROP INDEX "UQ_checkpoints_step"`);
    await queryRunner.query(`DROP TABLE "checkpoints"`);
    await queryRunner.query(
      `CREATE TABLE "checkpoints" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "experimentId" varchar(36) NOT NULL, "kind" varchar(16) NOT NULL, "step" integer NOT NULL, "epoch" integer NOT NULL, "ref" varchar(120) NOT NULL, "sizeBytes" integer NOT NULL, "metricValue" real, "createdAt" datetime NOT NULL, CONSTRAINT "FK_ef3c02fbc0bf9f1a28133b6ff4d" FOREIGN KEY ("experimentId") REFERENCES "experiments" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_checkpoints_step" ON "checkpoints" ("experimentId", "kind", "step") `);
    await queryRunner.query(`ALTER TABLE "experiments" ADD COLUMN "resumedFromStep" integer`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "checkpoints"`);
    await queryRunner.query(`ALTER TABLE "experiments" DROP COLUMN "resumedFromStep"`);
    if (queryRunner.connection.options.type === 'postgres') {
      await queryRunner.query(`ALTER TABLE "checkpoints" DROP COLUMN "metricValue"`);
      await queryRunner.query(`ALTER TABLE "checkpoints" DROP COLUMN "ref"`);
      for (const [column, type] of [
        ['modelTopology', 'text NOT NULL'],
        ['weightSpecs', 'text NOT NULL'],
        ['weights', 'bytea NOT NULL'],
        ['optimizerSpecs', 'text'],
        ['optimizerWeights', 'bytea'],
        ['state', 'text NOT NULL'],
      ] as const) {
        await queryRunner.query(`ALTER TABLE "checkpoints" ADD "${column}" ${type}`);
      }
      return;
    }
    await queryRunner.query(`DROP INDEX "UQ_checkpoints_step"`);
    await queryRunner.query(`DROP TABLE "checkpoints"`);
    await queryRunner.query(
      `CREATE TABLE "checkpoints" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "experimentId" varchar(36) NOT NULL, "kind" varchar(16) NOT NULL, "step" integer NOT NULL, "epoch" integer NOT NULL, "modelTopology" text NOT NULL, "weightSpecs" text NOT NULL, "weights" blob NOT NULL, "optimizerSpecs" text, "optimizerWeights" blob, "state" text NOT NULL, "sizeBytes" integer NOT NULL, "createdAt" datetime NOT NULL, CONSTRAINT "FK_ef3c02fbc0bf9f1a28133b6ff4d" FOREIGN KEY ("experimentId") REFERENCES "experiments" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_checkpoints_step" ON "checkpoints" ("experimentId", "kind", "step") `);
  }
}
