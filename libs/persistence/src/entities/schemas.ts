import { EntitySchema, type EntitySchemaColumnOptions } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';
import { CheckpointEntity } from './checkpoint.entity';
import { ExperimentEntity } from './experiment.entity';
import { MetricEntity } from './metric.entity';
import { SweepEntity } from './sweep.entity';

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
      resumedFromStep: { type: 'integer', nullable: true },
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
      belowBaseline: { type: 'boolean', nullable: true },
      divergedAtStep: { type: 'integer', nullable: true },
      lastFiniteLoss: float({ nullable: true }),
      sweepId: { type: 'varchar', length: 36, nullable: true },
      configKey: { type: 'varchar', length: 32, nullable: true },
    },
    indices: [
      { name: 'IDX_experiments_dataset_status', columns: ['datasetName', 'status'] },
      { name: 'IDX_experiments_sweep', columns: ['sweepId', 'status'] },
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
      ref: { type: 'varchar', length: 120 },
      sizeBytes: { type: 'integer' },
      metricValue: float({ nullable: true }),
      createdAt: time(),
    },
    relations: { experiment: experimentRelation },
    indices: [{ name: 'UQ_checkpoints_step', columns: ['experimentId', 'kind', 'step'], unique: true }],
  });

  const apiKeys = new EntitySchema<ApiKeyEntity>({
    name: 'ApiKeyEntity',
    target: ApiKeyEntity,
    tableName: 'api_keys',
    columns: {
      id: { type: 'varchar', length: 36, primary: true },
      name: { type: 'varchar', length: 100 },
      scopes: { type: 'simple-array' },
      hash: { type: 'varchar', length: 64 },
      prefix: { type: 'varchar', length: 16 },
      rateLimit: { type: 'integer', nullable: true },
      createdAt: time({ createDate: true }),
      lastUsedAt: time({ nullable: true }),
      revokedAt: time({ nullable: true }),
    },
    indices: [{ name: 'UQ_api_keys_hash', columns: ['hash'], unique: true }],
  });

  const sweeps = new EntitySchema<SweepEntity>({
    name: 'SweepEntity',
    target: SweepEntity,
    tableName: 'sweeps',
    columns: {
      id: { type: 'varchar', length: 36, primary: true },
      key: { type: 'varchar', length: 64 },
      name: { type: 'varchar', length: 200, nullable: true },
      kind: { type: 'varchar', length: 16 },
      request: { type: 'simple-json' },
      status: { type: 'varchar', length: 16 },
      stops: { type: 'simple-json' },
      stoppedBy: { type: 'simple-json', nullable: true },
      epochTimes: { type: 'simple-json' },
      createdAt: time({ createDate: true }),
      finishedAt: time({ nullable: true }),
    },
    indices: [{ name: 'UQ_sweeps_key', columns: ['key'], unique: true }],
  });

  return [experiments, metrics, checkpoints, apiKeys, sweeps];
}
