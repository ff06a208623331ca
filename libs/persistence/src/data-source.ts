import { DataSource, type DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '@tfleet/migrations';
import { CheckpointEntity } from './entities/checkpoint.entity';
import { ExperimentEntity } from './entities/experiment.entity';
import { MetricEntity } from './entities/metric.entity';

export const ENTITIES = [ExperimentEntity, MetricEntity, CheckpointEntity];

/**
 * The SQLite data source. The schema comes from migrations/ only (never `synchronize`);
 * WAL lets readers go on while a writer commits, and the busy timeout makes another process
 * that holds the write lock (a CLI, a backup) a wait instead of an SQLITE_BUSY error. Within
 * this process the repository serializes its own writes (see WriteSerializer).
 */
export function sqliteDataSourceOptions(database: string): DataSourceOptions {
  return {
    type: 'sqlite',
    database,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: false,
    enableWAL: true,
    busyTimeout: 5_000,
    busyErrorRetry: 200,
    logging: ['error'],
  };
}

/** Opens the database and applies pending migrations. */
export async function openDatabase(database: string): Promise<DataSource> {
  const dataSource = new DataSource(sqliteDataSourceOptions(database));
  await dataSource.initialize();
  await dataSource.query('PRAGMA foreign_keys = ON');
  await dataSource.runMigrations({ transaction: 'all' });
  return dataSource;
}
