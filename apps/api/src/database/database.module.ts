import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource } from 'typeorm';
import type { TfleetConfig } from '@tfleet/config';
import { ExperimentsRepository, openDatabase } from '@tfleet/persistence';
import { CONFIG } from '@tfleet/config';

/** The API is the only process that opens the database (the SQLite file, or PostgreSQL with DATABASE_URL); it migrates it at start. */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [CONFIG],
      useFactory: async (config: TfleetConfig) => {
        if (config.databaseUrl !== undefined) return openDatabase({ postgres: config.databaseUrl });
        mkdirSync(dirname(config.dbPath), { recursive: true });
        return openDatabase({ sqlite: config.dbPath });
      },
    },
    { provide: ExperimentsRepository, inject: [DataSource], useFactory: (ds: DataSource) => new ExperimentsRepository(ds) },
  ],
  exports: [DataSource, ExperimentsRepository],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
