import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rankings read one metric of one split at one epoch (the final test value: split 'test', epoch
 * 0) in value order. Without this index PostgreSQL scanned every metric point (a million in
 * bench:api) to find them; with it, it walks the points of that metric in value order, index
 * only, and stops at the limit. Same SQL on SQLite and PostgreSQL.
 */
export class MetricRankingIndex1765100000000 implements MigrationInterface {
  name = 'MetricRankingIndex1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "IDX_experiment_metrics_ranking" ON "experiment_metrics" ("split", "name", "epoch", "value", "experimentId") `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_experiment_metrics_ranking"`);
  }
}
