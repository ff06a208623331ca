import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '@tfleet/config';
import { postgresDataSourceOptions, sqliteDataSourceOptions } from '@tfleet/persistence';

/**
 * For the TypeORM CLI (after `npm run build`), with the same configuration as the API:
 *   npx typeorm migration:show -d dist/migrations/data-source.js
 */
const config = loadConfig();
export default new DataSource(config.databaseUrl !== undefined ? postgresDataSourceOptions(config.databaseUrl) : sqliteDataSourceOptions(config.dbPath));
