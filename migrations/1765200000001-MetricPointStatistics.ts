import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PostgreSQL estimated a ranking's points (split 'test', one metric name, epoch 0) as if the three
 * columns were independent: 183 rows where bench:api has 9,000 (epoch 0 only ever has split
 * 'test'), and so joined the board's runs by a nested loop over every final point (141 ms;
 * 33 ms as a hash join once the estimate was right). Extended statistics on the three columns give
 * the planner their dependency. SQLite's planner has no such statistics: nothing to do there.
 */
export class MetricPointStatistics1765200000001 implements MigrationInterface {
  name = 'MetricPointStatistics1765200000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type !== 'postgres') return;
    await queryRunner.query(`CREATE STATISTICS "STAT_experiment_metrics_point" (dependencies, mcv) ON "split", "name", "epoch" FROM "experiment_metrics"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type !== 'postgres') return;
    await queryRunner.query(`DROP STATISTICS "STAT_experiment_metrics_point"`);
  }
}
