import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Experiments, their metric history and their checkpoints. The SQLite statements are the ones
 * this migration shipped with (byte for byte: existing databases recorded it as run);
 * PostgreSQL gets the same tables in its own types (see entitySchemas in @tfleet/persistence:
 * jsonb specs, double precision, timestamptz, bytea).
 */
export class InitialSchema1764360000000 implements MigrationInterface {
  name = 'InitialSchema1764360000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type === 'postgres') return this.upPostgres(queryRunner);
    await queryRunner.query(
      `CREATE TABLE "experiments" ("id" varchar(36) PRIMARY KEY NOT NULL, "name" varchar(200), "spec" text NOT NULL, "datasetName" varchar(64) NOT NULL, "modelFamily" varchar(32) NOT NULL, "status" varchar(16) NOT NULL, "attempt" integer NOT NULL DEFAULT (0), "error" text, "runtime" text, "backend" varchar(32), "paramCount" integer, "steps" integer, "epochsCompleted" integer, "samplesPerSecond" real, "wallTimeMs" real, "scalingEfficiency" real, "testMetrics" text, "baselines" text, "createdAt" datetime NOT NULL DEFAULT (datetime('now')), "startedAt" datetime, "finishedAt" datetime)`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_experiments_created_at" ON "experiments" ("createdAt") `);
    await queryRunner.query(`CREATE INDEX "IDX_experiments_dataset_status" ON "experiments" ("datasetName", "status") `);
    await queryRunner.query(
      `CREATE TABLE "checkpoints" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "experimentId" varchar(36) NOT NULL, "kind" varchar(16) NOT NULL, "step" integer NOT NULL, "epoch" integer NOT NULL, "modelTopology" text NOT NULL, "weightSpecs" text NOT NULL, "weights" blob NOT NULL, "optimizerSpecs" text, "optimizerWeights" blob, "state" text NOT NULL, "sizeBytes" integer NOT NULL, "createdAt" datetime NOT NULL, CONSTRAINT "FK_ef3c02fbc0bf9f1a28133b6ff4d" FOREIGN KEY ("experimentId") REFERENCES "experiments" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_checkpoints_step" ON "checkpoints" ("experimentId", "kind", "step") `);
    await queryRunner.query(
      `CREATE TABLE "experiment_metrics" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "experimentId" varchar(36) NOT NULL, "epoch" integer NOT NULL, "step" integer NOT NULL, "split" varchar(16) NOT NULL, "name" varchar(64) NOT NULL, "value" real NOT NULL, "recordedAt" datetime NOT NULL, CONSTRAINT "FK_40cda44d91beb827b9f4bfb2840" FOREIGN KEY ("experimentId") REFERENCES "experiments" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_experiment_metrics_point" ON "experiment_metrics" ("experimentId", "epoch", "split", "name") `);
  }

  private async upPostgres(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "experiments" ("id" character varying(36) NOT NULL, "name" character varying(200), "spec" jsonb NOT NULL, "datasetName" character varying(64) NOT NULL, "modelFamily" character varying(32) NOT NULL, "status" character varying(16) NOT NULL, "attempt" integer NOT NULL DEFAULT '0', "error" text, "runtime" jsonb, "backend" character varying(32), "paramCount" integer, "steps" integer, "epochsCompleted" integer, "samplesPerSecond" double precision, "wallTimeMs" double precision, "scalingEfficiency" double precision, "testMetrics" text, "baselines" text, "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "startedAt" TIMESTAMP WITH TIME ZONE, "finishedAt" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_aafe1321d916fac58ba06ad8178" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_experiments_created_at" ON "experiments" ("createdAt") `);
    await queryRunner.query(`CREATE INDEX "IDX_experiments_dataset_status" ON "experiments" ("datasetName", "status") `);
    await queryRunner.query(
      `CREATE TABLE "checkpoints" ("id" SERIAL NOT NULL, "experimentId" character varying(36) NOT NULL, "kind" character varying(16) NOT NULL, "step" integer NOT NULL, "epoch" integer NOT NULL, "modelTopology" text NOT NULL, "weightSpecs" text NOT NULL, "weights" bytea NOT NULL, "optimizerSpecs" text, "optimizerWeights" bytea, "state" text NOT NULL, "sizeBytes" integer NOT NULL, "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_dfcc46a91d96ecba8a8dcd8b11c" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_checkpoints_step" ON "checkpoints" ("experimentId", "kind", "step") `);
    await queryRunner.query(
      `CREATE TABLE "experiment_metrics" ("id" SERIAL NOT NULL, "experimentId" character varying(36) NOT NULL, "epoch" integer NOT NULL, "step" integer NOT NULL, "split" character varying(16) NOT NULL, "name" character varying(64) NOT NULL, "value" double precision NOT NULL, "recordedAt" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_1c6a5d4a235dbc8b2a6b4342938" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_experiment_metrics_point" ON "experiment_metrics" ("experimentId", "epoch", "split", "name") `);
    await queryRunner.query(
      `ALTER TABLE "experiment_metrics" ADD CONSTRAINT "FK_40cda44d91beb827b9f4bfb2840" FOREIGN KEY ("experimentId") REFERENCES "experiments"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "checkpoints" ADD CONSTRAINT "FK_ef3c02fbc0bf9f1a28133b6ff4d" FOREIGN KEY ("experimentId") REFERENCES "experiments"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "UQ_experiment_metrics_point"`);
    await queryRunner.query(`DROP TABLE "experiment_metrics"`);
    await queryRunner.query(`DROP INDEX "UQ_checkpoints_step"`);
    await queryRunner.query(`DROP TABLE "checkpoints"`);
    await queryRunner.query(`DROP INDEX "IDX_experiments_dataset_status"`);
    await queryRunner.query(`DROP INDEX "IDX_experiments_created_at"`);
    await queryRunner.query(`DROP TABLE "experiments"`);
  }
}
