import sqlite3 from 'sqlite3';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '@tfleet/migrations';
import { type DbDialect, entitySchemas } from './entities/schemas';

/**
 * sqlite3 as TypeORM gets it: TypeORM calls `verbose()` on the driver, which wraps every
 * statement call to capture a stack and util.inspect its SQL and parameters, for errors that
 * rarely happen (and would carry the SQL and its values into the error). Profiled under
 * bench:load it was 408 ms of self time in 22 s of samples, besides the inspect calls; here
 * `verbose()` is the plain module.
 */
const sqlite3WithoutTracing = Object.assign(Object.create(sqlite3) as typeof sqlite3, { verbose: () => sqlite3 });

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
    driver: sqlite3WithoutTracing,
    entities: entitySchemas('sqlite'),
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: false,
    enableWAL: true,
    busyTimeout: 5_000,
    busyErrorRetry: 200,
    logging: ['error'],
  };
}

/**
 * The PostgreSQL data source (DATABASE_URL): the same entities and migrations. Every session
 * runs in UTC, so `timestamptz` values and the filter language's date strings mean UTC.
 */
export function postgresDataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: entitySchemas('postgres'),
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: false,
    extra: { options: '-c timezone=UTC', max: 10 },
    logging: ['error'],
  };
}

/** SQLite's page cache for the control plane's connection, in KiB. */
const SQLITE_CACHE_KIB = 65_536;

/** Where the control plane keeps its data: a SQLite file, or a PostgreSQL database by URL. */
export type DatabaseTarget = { sqlite: string } | { postgres: string };

/** The dialect of a target. */
export const dialectOf = (target: DatabaseTarget): DbDialect => ('postgres' in target ? 'postgres' : 'sqlite');

/** Opens the database (a SQLite path, or a target) and applies pending migrations. */
export async function openDatabase(target: string | DatabaseTarget): Promise<DataSource> {
  const resolved: DatabaseTarget = typeof target === 'string' ? { sqlite: target } : target;
  const dataSource = new DataSource('postgres' in resolved ? postgresDataSourceOptions(resolved.postgres) : sqliteDataSourceOptions(resolved.sqlite));
  await dataSource.initialize();
  if (!('postgres' in resolved)) {
    await dataSource.query('PRAGMA foreign_keys = ON');
    // SQLite's default page cache is 2 MB: a ranking of a board of thousands of runs re-read its
    // pages from the OS on every request (bench:api: most of a grouped query's time went to
    // reads). 64 MiB keeps the tables' hot pages; it is memory taken as pages are read, not at once.
    await dataSource.query(`PRAGMA cache_size = -${SQLITE_CACHE_KIB}`);
  }
  await dataSource.runMigrations({ transaction: 'all' });
  return dataSource;
}
