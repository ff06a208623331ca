import { EntitySchema, type EntitySchemaColumnOptions } from 'typeorm';
import { CheckpointEntity } from './checkpoint.entity';
import { ExperimentEntity } from './experiment.entity';
import { MetricEntity } from './metric.entity';

export type DbDialect = 'sqlite' | 'postgres';

/**
 * The tables, once, for both databases. Only three types differ: timestamps (`datetime` in
 * SQLite; `timestamptz` in PostgreSQL, read and written in UTC), floating point (SQLite's 8-byte
 * `real`; PostgreSQL's `double precision`, since its `real` is 4 bytes) and bytes (`blob` /
 * `bytea`), and the spec and runtime, which filters read inside: `jsonb` in PostgreSQL (parsed
 * once, on write), JSON text in SQLite (`json_extract` reads it). The migrations create exactly
 * this (a spec per database checks it).
 */
export function entitySchemas(dialect: DbDialect): EntitySchema[] {
  const pg = dialect === 'postgres';
  const time = (options: Partial<EntitySchemaColumnOptions> = {}): EntitySchemaColumnOptions => ({ type: pg ? 'timestamptz' : 'datetime', ...options });
  const float = (options: Partial<EntitySchemaColumnOptions> = {}): EntitySchemaColumnOptions => ({ type: pg ? 'double precision' : 'real', ...options });
  const json = (options: Partial<EntitySchemaColumnOptions> = {}): EntitySchemaColumnOptions => ({ type: pg ? 'jsonb' : 'simple-json', ...options });
  const bytes = (options: Partial<EntitySchemaColumnOptions> = {}): EntitySchemaColumnOptions => ({ type: pg ? 'bytea' : 'blob', ...options });
  const experimentRelation = { type: 'many-to-one' as const, target: () => ExperimentEntity, onDelete: 'CASCADE' as const, joinColumn: { name: 'experimentId' } };

  const experiments = new EntitySchema<ExperimentEntity>({
    name: 'ExperimentEntity',
    target: ExperimentEntity,
    tableName: 'experiments',
    columns: {
      id: { type: 'varchar', length: 36, primary: true },
      name: { type: 'varchar', length: 200, nullable: true },
      spec: json(),
      datasetName: { type: 'varchar', length: 64 },
      modelFamily: { type: 'varchar', length: 32 },
      boardKey: { type: 'varchar', length: 80, default: '' },
      status: { type: 'varchar', length: 16 },
      attempt: { type: 'integer', default: 0 },
      error: { type: 'text', nullable: true },
      runtime: json({ nullable: true }),
      backend: { type: 'varchar', length: 32, nullable: true },
      paramCount: { type: 'integer', nullable: true },
      steps: { type: 'integer', nullable: true },
      epochsCompleted: { type: 'integer', nullable: true },
      samplesPerSecond: float({ nullable: true }),
      wallTimeMs: float({ nullable: true }),
      scalingEfficiency: float({ nullable: true }),
      testMetrics: { type: 'simple-json', nullable: true },
      baselines: { type: 'simple-json', nullable: true },
      createdAt: time({ createDate: true }),
      startedAt: time({ nullable: true }),
      finishedAt: time({ nullable: true }),
      configKey: { type: 'varchar', length: 32, nullable: true },
    },
    indices: [
      { name: 'IDX_experiments_dataset_status', columns: ['datasetName', 'status'] },
      { name: 'IDX_experiments_created_at', columns: ['createdAt'] },
      { name: 'IDX_experiments_board_status', columns: ['boardKey', 'status'] },
    ],
  });

  const metrics = new EntitySchema<MetricEntity>({
    name: 'MetricEntity',
    target: MetricEntity,
    tableName: 'experiment_metrics',
    columns: {
      id: { type: 'integer', primary: true, generated: 'increment' },
      experimentId: { type: 'varchar', length: 36 },
      epoch: { type: 'integer' },
      step: { type: 'integer' },
      attempt: { type: 'integer', default: 1 },
      split: { type: 'varchar', length: 16 },
      name: { type: 'varchar', length: 64 },
      value: float(),
      recordedAt: time(),
    },
    relations: { experiment: experimentRelation },
    indices: [
      { name: 'UQ_experiment_metrics_point', columns: ['experimentId', 'epoch', 'split', 'name'], unique: true },
      { name: 'IDX_experiment_metrics_ranking', columns: ['split', 'name', 'epoch', 'value', 'experimentId'] },
      { name: 'IDX_experiment_metrics_final', columns: ['experimentId', 'name', 'split', 'epoch', 'value'], where: '"epoch" = 0' },
    ],
  });

  const checkpoints = new EntitySchema<CheckpointEntity>({
    name: 'CheckpointEntity',
    target: CheckpointEntity,
    tableName: 'checkpoints',
    columns: {
      id: { type: 'integer', primary: true, generated: 'increment' },
      experimentId: { type: 'varchar', length: 36 },
      kind: { type: 'varchar', length: 16 },
      step: { type: 'integer' },
      epoch: { type: 'integer' },
      modelTopology: { type: 'simple-json' },
      weightSpecs: { type: 'simple-json' },
      weights: bytes(),
      optimizerSpecs: { type: 'simple-json', nullable: true },
      optimizerWeights: bytes({ nullable: true }),
      state: { type: 'simple-json' },
      sizeBytes: { type: 'integer' },
      createdAt: time(),
    },
    relations: { experiment: experimentRelation },
    indices: [{ name: 'UQ_checkpoints_step', columns: ['experimentId', 'kind', 'step'], unique: true }],
  });

  return [experiments, metrics, checkpoints];
}
