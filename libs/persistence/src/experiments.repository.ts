import { type DataSource, type EntityManager, In, LessThan, MoreThan, type Repository } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { boardOf, type CheckpointPointer, compareWithBaseline, configKeyOf, type ExperimentSpec, metricLowerIsBetter, type MetricValues, type RuntimeInfo, type TrainingSpec } from '@tfleet/contracts';
import { compileFilterText, type FieldResolver, type ResolveContext, type SqlDialect, tfleetFieldResolver } from '@tfleet/query';
import { CheckpointEntity } from './entities/checkpoint.entity';
import { EXPERIMENT_STATUSES, type ExperimentStatus, ExperimentEntity, TERMINAL_STATUSES } from './entities/experiment.entity';
import { MetricEntity, type MetricSplit } from './entities/metric.entity';
import { type WriteSerializer, writeSerializerFor } from './write-serializer';

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

/** How a run's value on a board is read: its final test metric, or its best validation value over epochs. */
export type RankValue = 'final' | 'best';

export interface LeaderboardQuery {
  boardKey: string;
  metric: string;
  order: 'asc' | 'desc';
  /** Null: every ranked run (for grouping). */
  limit: number | null;
  family?: string;
  value?: RankValue;
  /** A filter in the @tfleet/query language; throws its FilterError when it is not valid. */
  filter?: string;
  /** True: only the runs flagged below their baseline (the list shown apart); otherwise they are left out. */
  belowBaseline?: boolean;
}

export interface BoardSummary {
  key: string;
  datasetName: string;
  /** A spec on the board (every spec on a board has the same board options). */
  sampleSpec: ExperimentSpec;
  experiments: number;
  completed: number;
  /** Final test metrics recorded by its completed runs, sorted. */
  metrics: string[];
}

export interface ListQuery {
  page: number;
  pageSize: number;
  status?: ExperimentStatus;
  filter?: string;
}

/** A ranked run as grouping needs it: its value and its values of the grouping paths, in order. */
export interface RankedGroupRow {
  id: string;
  value: number;
  /** One value per `groupBy` path (null where a spec lacks it); for `config`, the run's configKeyOf. */
  groups: unknown[];
}

/** `rankedGroupRows`' grouping: scalar spec paths (filter fields), or the run's configuration. */
export type RankedGrouping = { paths: readonly string[] } | 'config';

export interface LeaderboardRow {
  experiment: ExperimentEntity;
  value: number;
}

export interface RunSummary {
  test: MetricValues;
  baselines: MetricValues;
  steps: number;
  epochs: number;
  samplesPerSecond: number;
  wallTimeMs: number;
  scalingEfficiency: number | null;
}

/** Which resumable checkpoints an experiment keeps (its spec's training.keepCheckpoints). */
export type KeepCheckpoints = TrainingSpec['keepCheckpoints'];

/** What storing a checkpoint changed; the caller deletes the files of the refs it names. */
export interface SavedCheckpoint {
  /** False when the checkpoint (experiment, kind, step) was already recorded, under `storedRef`. */
  stored: boolean;
  storedRef: string;
  /** Refs of the checkpoints pruned by the keep policy. */
  pruned: string[];
}

/** What a new attempt's start changed: false when the experiment was terminal or the attempt stale. */
export interface MarkRunningResult {
  started: boolean;
  /** Metric points of earlier attempts removed because this attempt starts over. */
  discardedPoints: number;
  /** Refs of the checkpoints past the resume point that were removed (their files are the caller's to delete). */
  discardedCheckpoints: string[];
}

/** How many of a metric's best final values a SQLite ranking of `limit` runs looks at first: max(min, limit * perEntry) (see windowedLeaderboard). */
export interface RankingWindow {
  perEntry: number;
  min: number;
}

const RANKING_WINDOW: RankingWindow = { perEntry: 25, min: 500 };

export interface ExperimentsRepositoryOptions {
  /** Tests set a small window to exercise both of its outcomes with a few runs. */
  rankingWindow?: RankingWindow;
}

/** A stored spec: JSON text in SQLite, parsed from jsonb in PostgreSQL. */
const parseSpec = (spec: string | ExperimentSpec): ExperimentSpec => (typeof spec === 'string' ? (JSON.parse(spec) as ExperimentSpec) : spec);

/**
 * The configuration key of a run whose configKey column is empty (a spec the ConfigKey migration
 * could not parse): hashed from its spec as before the column, or a group of its own
 * (`unparsed-<id>`) when the current schema rejects the spec.
 */
function legacyConfigKey(id: string, spec: string | ExperimentSpec | null): string {
  try {
    if (spec !== null) return configKeyOf(parseSpec(spec));
  } catch {
    // an older spec the current schema rejects: never grouped with another run
  }
  return `unparsed-${id}`;
}

/** The filter fields over experiments aliased `e`; built once. */
const FILTER_FIELDS: FieldResolver = tfleetFieldResolver({ alias: 'e', statuses: EXPERIMENT_STATUSES, sweepId: true });

/**
 * The most parameters one queued-experiment INSERT binds: SQLite's oldest default bound (999;
 * builds since 3.32 allow 32,766), far under PostgreSQL's 65,535. With the entity's ~30 columns
 * that is 32 rows a statement.
 */
const MAX_INSERT_PARAMETERS = 999;

/** A submission waiting to be written: its values in column order, and its caller's promise. */
interface PendingQueuedInsert {
  parameters: unknown[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** All SQL about experiments, their metrics and checkpoints. Callers decide the rules. */
export class ExperimentsRepository {
  private readonly experiments: Repository<ExperimentEntity>;
  private readonly metrics: Repository<MetricEntity>;
  private readonly checkpoints: Repository<CheckpointEntity>;

  private readonly serializer: WriteSerializer;
  /** Queued inserts waiting for their write unit (see insertQueued). */
  private pendingQueued: PendingQueuedInsert[] = [];
  /** INSERT statements by row count (see queuedInsertSql). */
  private readonly queuedInsertStatements = new Map<number, string>();
  private readonly rankingWindow: RankingWindow;

  constructor(
    private readonly dataSource: DataSource,
    options: ExperimentsRepositoryOptions = {},
  ) {
    this.rankingWindow = options.rankingWindow ?? RANKING_WINDOW;
    this.experiments = dataSource.getRepository(ExperimentEntity);
    this.metrics = dataSource.getRepository(MetricEntity);
    this.checkpoints = dataSource.getRepository(CheckpointEntity);
    this.serializer = writeSerializerFor(dataSource);
  }

  /**
   * Every write is one unit of work: its own transaction, never shared with a concurrent
   * request, run after the units before it (see WriteSerializer for why on SQLite).
   */
  /** The SQL dialect of the data source, as @tfleet/query names it. */
  get dialect(): SqlDialect {
    return this.dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
  }

  /**
   * A filter compiled to a condition over `e` with TypeORM named parameters (`:filter_1`, ...):
   * every value a parameter, never SQL text. Throws the filter's FilterError when it is invalid.
   */
  compileFilter(text: string): { sql: string; params: Record<string, unknown> } {
    const { sql, params } = compileFilterText(text, { dialect: this.dialect, fields: FILTER_FIELDS, placeholder: (n) => `:filter_${n}` });
    return { sql, params: Object.fromEntries(params.map((value, i) => [`filter_${i + 1}`, value])) };
  }

  private write<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.serializer.run(() => this.dataSource.transaction(work));
  }

  /**
   * Stores a queued experiment and returns its row: no transaction and no read-back, since a
   * single statement is atomic on its own and the row returned is built from the values written
   * (createdAt is set here, not by the database). Submissions that arrive while the write
   * serializer is busy wait in `pendingQueued` and are written together, as one multi-row INSERT,
   * by the first write unit that runs (see flushQueuedInserts). Under bench:load a submission
   * spent ~10 of its ~12 ms (median) queued behind the other submissions of the same burst, one
   * ~1.3-ms INSERT each; a read-back after the write unit could also find the row already
   * deleted by a unit queued behind it.
   */
  insertQueued(id: string, spec: ExperimentSpec): Promise<ExperimentEntity> {
    const row: ExperimentEntity = Object.assign(new ExperimentEntity(), {
      id,
      name: spec.name ?? null,
      spec,
      datasetName: spec.dataset.name,
      modelFamily: spec.model.family,
      boardKey: boardOf(spec.dataset).key,
      status: 'queued' as const,
      attempt: 0,
      resumedFromStep: null,
      error: null,
      runtime: null,
      backend: null,
      paramCount: null,
      steps: null,
      epochsCompleted: null,
      samplesPerSecond: null,
      wallTimeMs: null,
      scalingEfficiency: null,
      testMetrics: null,
      baselines: null,
      // Whole milliseconds, as both databases keep them (a Date has no finer part to lose).
      createdAt: new Date(),
      startedAt: null,
      finishedAt: null,
      belowBaseline: null,
      divergedAtStep: null,
      lastFiniteLoss: null,
      sweepId: null,
      configKey: configKeyOf(spec),
    });
    const columns = this.queuedColumns();
    const parameters = columns.map((column) => this.dataSource.driver.preparePersistentValue(column.getEntityValue(row), column) as unknown);
    return new Promise<ExperimentEntity>((resolve, reject) => {
      this.pendingQueued.push({ parameters, resolve: () => resolve(row), reject });
      // One write unit per group: the first insert of a group schedules it, later ones join it
      // until it starts. A write requested after this insert is serialized behind that unit, so
      // it still runs after the row exists (an insert then a delete of the same id stays in order).
      if (this.pendingQueued.length === 1) void this.serializer.run(() => this.flushQueuedInserts());
    });
  }

  /**
   * Writes every queued insert waiting when the unit starts, in statements of at most
   * MAX_INSERT_PARAMETERS values. A failed multi-row statement writes nothing (one statement), so its
   * rows are retried one by one and each submission gets its own outcome, as if alone.
   */
  private async flushQueuedInserts(): Promise<void> {
    const group = this.pendingQueued;
    this.pendingQueued = [];
    const rowsPerStatement = Math.floor(MAX_INSERT_PARAMETERS / this.queuedColumns().length);
    for (let start = 0; start < group.length; start += rowsPerStatement) {
      const batch = group.slice(start, start + rowsPerStatement);
      try {
        await this.dataSource.query(this.queuedInsertSql(batch.length), batch.flatMap((p) => p.parameters));
        for (const pending of batch) pending.resolve();
      } catch (error) {
        if (batch.length === 1) {
          batch[0]!.reject(error);
          continue;
        }
        for (const pending of batch) {
          await this.dataSource.query(this.queuedInsertSql(1), pending.parameters).then(pending.resolve, pending.reject);
        }
      }
    }
  }

  /** The columns of a queued insert, in the order of its values: every column of the entity. */
  private queuedColumns(): readonly ColumnMetadata[] {
    return this.dataSource.getMetadata(ExperimentEntity).columns;
  }

  /**
   * The INSERT of `rows` queued experiments, built once per row count from the entity's
   * metadata: every column, in the dialect's placeholders; each value goes through the driver's
   * own conversion (JSON, dates, booleans) as TypeORM's query builder would. Building that query
   * per request was about a quarter of a submission's API CPU under bench:load (0.38 of 1.65 ms).
   */
  private queuedInsertSql(rows: number): string {
    const cached = this.queuedInsertStatements.get(rows);
    if (cached) return cached;
    const metadata = this.dataSource.getMetadata(ExperimentEntity);
    const driver = this.dataSource.driver;
    const columns = this.queuedColumns();
    const names = columns.map((c) => driver.escape(c.databaseName)).join(', ');
    const values = Array.from({ length: rows }, (_, r) => `(${columns.map((c, i) => driver.createParameter(`${c.databaseName}_${r}`, r * columns.length + i)).join(', ')})`);
    const sql = `INSERT INTO ${driver.escape(metadata.tableName)} (${names}) VALUES ${values.join(', ')}`;
    this.queuedInsertStatements.set(rows, sql);
    return sql;
  }

  async delete(id: string): Promise<void> {
    await this.write((manager) => manager.delete(ExperimentEntity, { id }));
  }

  /** Ids among `ids` that have a row. */
  async existingIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    // Raw ids, not entities: the reconciler asks this for every page of queued jobs.
    const rows: { id: string }[] = await this.experiments.createQueryBuilder('e').select('e.id', 'id').where('e.id IN (:...ids)', { ids: [...ids] }).getRawMany();
    return new Set(rows.map((r) => r.id));
  }

  /** Ids of the queued or running experiments created before `before`, oldest first (reconciliation with the queue). */
  async liveExperimentIds(before: Date): Promise<string[]> {
    const live = await this.experiments.find({ select: { id: true, createdAt: true }, where: { status: In(['queued', 'running']) }, order: { createdAt: 'ASC' } });
    return live.filter((e) => e.createdAt.getTime() < before.getTime()).map((e) => e.id);
  }

  findById(id: string): Promise<ExperimentEntity | null> {
    return this.experiments.findOneBy({ id });
  }

  /** Newest first; `filter` throws its FilterError when it is not valid. */
  async list({ page, pageSize, status, filter }: ListQuery): Promise<Page<ExperimentEntity>> {
    const qb = this.experiments.createQueryBuilder('e');
    if (status) qb.andWhere('e.status = :status', { status });
    if (filter !== undefined && filter.trim() !== '') {
      const compiled = this.compileFilter(filter);
      qb.andWhere(`(${compiled.sql})`, compiled.params);
    }
    const [items, total] = await qb
      .orderBy('e.createdAt', 'DESC')
      .addOrderBy('e.id', 'DESC')
      .skip((page - 1) * pageSize)
      .take(pageSize)
      .getManyAndCount();
    return { items, total, page, pageSize };
  }

  /**
   * Moves a live experiment to `running` for `attempt`. A newer attempt starts over: the
   * points and resumable checkpoints of earlier attempts past `resumedFromStep` (all of them
   * when it starts fresh) are removed in the same transaction, so the history shown is this
   * attempt's alone. `started` is false when the experiment is terminal or the attempt stale.
   */
  async markRunning(id: string, attempt: number, runtime: RuntimeInfo, paramCount: number, at: Date, resumedFromStep: number | null = null): Promise<MarkRunningResult> {
    return this.write(async (manager) => {
      const result = await manager
        .createQueryBuilder()
        .update(ExperimentEntity)
        .set({ status: 'running', attempt, resumedFromStep, runtime, backend: runtime.backend, paramCount, startedAt: at, error: null })
        .where('id = :id AND status IN (:...live) AND attempt <= :attempt', { id, live: ['queued', 'running'], attempt })
        .execute();
      if ((result.affected ?? 0) === 0) return { started: false, discardedPoints: 0, discardedCheckpoints: [] };
      const after = resumedFromStep ?? -1;
      const discarded = await manager.delete(MetricEntity, { experimentId: id, attempt: LessThan(attempt), step: MoreThan(after) });
      const past = { experimentId: id, kind: In(['periodic', 'epoch']), step: MoreThan(after) };
      const discardedCheckpoints = (await manager.find(CheckpointEntity, { select: { id: true, ref: true }, where: past })).map((c) => c.ref);
      await manager.delete(CheckpointEntity, past);
      return { started: true, discardedPoints: discarded.affected ?? 0, discardedCheckpoints };
    });
  }

  async recordMetrics(id: string, attempt: number, epoch: number, step: number, bySplit: Partial<Record<MetricSplit, MetricValues>>, at: Date): Promise<void> {
    const rows = Object.entries(bySplit).flatMap(([split, values]) =>
      Object.entries(values ?? {})
        .filter(([, value]) => Number.isFinite(value))
        .map(([name, value]) => ({ experimentId: id, attempt, epoch, step, split: split as MetricSplit, name, value, recordedAt: at })),
    );
    if (rows.length === 0) return;
    // Upsert: a redelivered event rewrites the same points instead of duplicating them.
    await this.write((manager) => manager.upsert(MetricEntity, rows, { conflictPaths: ['experimentId', 'epoch', 'split', 'name'] }));
  }

  metricHistory(id: string): Promise<MetricEntity[]> {
    return this.metrics.find({ where: { experimentId: id }, order: { epoch: 'ASC', split: 'ASC', name: 'ASC' } });
  }

  /**
   * Records a checkpoint that a worker wrote to the store, then applies the keep policy to the
   * resumable ones (periodic and epoch; the final one is always kept): the `latest` newest by
   * step, and the `best` epoch checkpoints by the validation value of `metric` at their epoch.
   */
  async saveCheckpoint(id: string, pointer: CheckpointPointer, at: Date, keep: KeepCheckpoints): Promise<SavedCheckpoint> {
    return this.write(async (manager) => {
      // A redelivered event (or a second attempt at the same step) finds its checkpoint already stored.
      const existing = await manager.findOne(CheckpointEntity, { select: { id: true, ref: true }, where: { experimentId: id, kind: pointer.kind, step: pointer.step } });
      if (existing) return { stored: false, storedRef: existing.ref, pruned: [] };
      let metricValue: number | null = null;
      if (pointer.kind === 'epoch') {
        const point = await manager.findOne(MetricEntity, { select: { id: true, value: true }, where: { experimentId: id, epoch: pointer.epoch, split: 'validation', name: keep.metric } });
        metricValue = point?.value ?? null;
      }
      await manager.insert(CheckpointEntity, { experimentId: id, kind: pointer.kind, step: pointer.step, epoch: pointer.epoch, ref: pointer.ref, sizeBytes: pointer.bytes, metricValue, createdAt: at });
      const resumable = await manager.find(CheckpointEntity, {
        select: { id: true, ref: true, metricValue: true },
        where: { experimentId: id, kind: In(['periodic', 'epoch']) },
        order: { step: 'DESC', id: 'DESC' },
      });
      const kept = new Set(resumable.slice(0, Math.max(1, keep.latest)).map((c) => c.id));
      const sign = metricLowerIsBetter(keep.metric) ? 1 : -1;
      const ranked = resumable.filter((c) => c.metricValue !== null && Number.isFinite(c.metricValue)).sort((a, b) => sign * (a.metricValue! - b.metricValue!));
      for (const c of ranked.slice(0, keep.best)) kept.add(c.id);
      const stale = resumable.filter((c) => !kept.has(c.id));
      if (stale.length > 0) await manager.delete(CheckpointEntity, { id: In(stale.map((c) => c.id)) });
      return { stored: true, storedRef: pointer.ref, pruned: stale.map((c) => c.ref) };
    });
  }

  /** Whether a checkpoint of the experiment is recorded under `ref`. */
  hasCheckpointRef(id: string, ref: string): Promise<boolean> {
    return this.checkpoints.existsBy({ experimentId: id, ref });
  }

  /** Every checkpoint ref of an experiment (to delete their files with it). */
  async checkpointRefs(id: string): Promise<string[]> {
    return (await this.checkpoints.find({ select: { id: true, ref: true }, where: { experimentId: id } })).map((c) => c.ref);
  }

  /**
   * Puts a failed or cancelled experiment back in the queue's hands (`queued`, error and end
   * cleared) to resume it; false when it is in another status.
   */
  async reopen(id: string): Promise<boolean> {
    const result = await this.write((manager) =>
      manager
        .createQueryBuilder()
        .update(ExperimentEntity)
        .set({ status: 'queued', error: null, finishedAt: null })
        .where('id = :id AND status IN (:...resumable)', { id, resumable: ['failed', 'cancelled'] })
        .execute(),
    );
    return (result.affected ?? 0) > 0;
  }

  /** The newest checkpoint of an experiment (the final one if it finished). */
  latestCheckpoint(id: string, kind?: CheckpointEntity['kind']): Promise<CheckpointEntity | null> {
    return this.checkpoints.findOne({ where: kind ? { experimentId: id, kind } : { experimentId: id }, order: { step: 'DESC', id: 'DESC' } });
  }

  listCheckpoints(id: string): Promise<CheckpointEntity[]> {
    return this.checkpoints.find({ where: { experimentId: id }, order: { step: 'ASC', id: 'ASC' } });
  }

  /** Completes a running experiment; false when it was already terminal (e.g. cancelled). */
  async complete(id: string, attempt: number, summary: RunSummary, at: Date): Promise<boolean> {
    return this.write(async (manager) => {
      const result = await manager
        .createQueryBuilder()
        .update(ExperimentEntity)
        .set({
          status: 'completed',
          testMetrics: summary.test,
          baselines: summary.baselines,
          steps: summary.steps,
          epochsCompleted: summary.epochs,
          samplesPerSecond: summary.samplesPerSecond,
          wallTimeMs: summary.wallTimeMs,
          scalingEfficiency: summary.scalingEfficiency,
          belowBaseline: compareWithBaseline(summary.test, summary.baselines)?.belowBaseline ?? null,
          finishedAt: at,
          error: null,
        })
        .where('id = :id AND status NOT IN (:...terminal)', { id, terminal: TERMINAL_STATUSES })
        .execute();
      if ((result.affected ?? 0) === 0) return false;
      const rows = Object.entries(summary.test)
        .filter(([, value]) => Number.isFinite(value))
        .map(([name, value]) => ({ experimentId: id, attempt, epoch: 0, step: summary.steps, split: 'test' as const, name, value, recordedAt: at }));
      if (rows.length > 0) await manager.upsert(MetricEntity, rows, { conflictPaths: ['experimentId', 'epoch', 'split', 'name'] });
      return true;
    });
  }

  /**
   * Marks a running attempt `diverged`: its loss became `loss` (NaN or infinite) at `step`, after
   * `lastFiniteLoss`. False when the experiment was terminal or the attempt is not current.
   */
  async diverge(id: string, attempt: number, step: number, loss: string, lastFiniteLoss: number | null, at: Date): Promise<boolean> {
    const result = await this.write((manager) =>
      manager
        .createQueryBuilder()
        .update(ExperimentEntity)
        .set({
          status: 'diverged',
          divergedAtStep: step,
          lastFiniteLoss,
          error: `training diverged: the loss became ${loss} at step ${step} (last finite loss ${lastFiniteLoss ?? 'none: the first step'})`,
          finishedAt: at,
        })
        .where('id = :id AND attempt = :attempt AND status = :running', { id, attempt, running: 'running' })
        .execute(),
    );
    return (result.affected ?? 0) > 0;
  }

  /** Moves a non-terminal experiment to a terminal status; false when it was already terminal. */
  async finish(id: string, status: 'failed' | 'cancelled', error: string | null, at: Date): Promise<boolean> {
    const result = await this.write((manager) =>
      manager
        .createQueryBuilder()
        .update(ExperimentEntity)
        .set({ status, error, finishedAt: at })
        .where('id = :id AND status NOT IN (:...terminal)', { id, terminal: TERMINAL_STATUSES })
        .execute(),
    );
    return (result.affected ?? 0) > 0;
  }

  async recordError(id: string, error: string): Promise<void> {
    await this.write((manager) => manager.update(ExperimentEntity, { id }, { error }));
  }

  /**
   * Completed experiments on one board ranked by a metric: the final test value, or the best
   * validation value over epochs (`value: 'best'`; the max, or the min when `order` is asc).
   * Runs without the metric are not ranked. Ties go to the earlier run.
   */
  async leaderboard(query: LeaderboardQuery): Promise<LeaderboardRow[]> {
    if (this.dialect === 'sqlite' && (query.value ?? 'final') === 'final' && query.limit !== null) {
      const windowed = await this.windowedLeaderboard(query, query.limit);
      if (windowed !== null) return windowed;
    }
    return this.leaderboardRows(this.rankingQuery(query, 'entities'));
  }

  private async leaderboardRows(qb: ReturnType<ExperimentsRepository['rankingQuery']>): Promise<LeaderboardRow[]> {
    const { entities, raw } = await qb.getRawAndEntities<{ metric_value: number | string }>();
    return entities.map((experiment, i) => ({ experiment, value: Number(raw[i]!.metric_value) }));
  }

  /**
   * A final-value ranking on SQLite, starting from the metric's best values. SQLite's planner
   * starts any ranking from the board's runs (the boardKey/status index) and sorts them all,
   * whatever the LIMIT: on a large board that is every run's row, metric and filter (bench:api,
   * 3,600 runs: ~26 ms of SQL). This ranks only the runs among the `window` best final values of
   * the metric, read in value order from the ranking index. Exact when the result is full and its
   * last value is strictly better than the window's worst: every run outside the window is then
   * worse than each one ranked (ties included). Otherwise null, and the caller ranks the whole board.
   */
  private async windowedLeaderboard(query: LeaderboardQuery, limit: number): Promise<LeaderboardRow[] | null> {
    const window = Math.max(this.rankingWindow.min, limit * this.rankingWindow.perEntry);
    const desc = query.order !== 'asc';
    const edge = await this.metrics
      .createQueryBuilder('w')
      .select('w.value', 'value')
      .where('w.split = :split AND w.name = :metric AND w.epoch = 0', { split: 'test', metric: query.metric })
      .orderBy('w.value', desc ? 'DESC' : 'ASC')
      .limit(1)
      .offset(window - 1)
      .getRawOne<{ value: number }>();
    const rows = await this.leaderboardRows(this.rankingQuery(query, 'entities', window));
    // No window-th value: the window holds every value of the metric, so the ranking is whole.
    if (edge === undefined) return rows;
    const last = rows[limit - 1];
    return last !== undefined && (desc ? last.value > edge.value : last.value < edge.value) ? rows : null;
  }

  /**
   * The runs `leaderboard` ranks (every one: `limit` is ignored), each with its value and its
   * values of the grouping, read in SQL: spec paths through the filter fields' expressions
   * (json_extract / jsonb), `config` from the configKey column. No spec leaves the database, so
   * grouping a board of thousands of runs reads a few columns per run. In no particular order.
   */
  async rankedGroupRows(query: LeaderboardQuery, grouping: RankedGrouping): Promise<RankedGroupRow[]> {
    const qb = this.rankingQuery({ ...query, limit: null }, 'ids');
    if (grouping === 'config') {
      qb.addSelect('e.configKey', 'group_0').addSelect(`CASE WHEN e."configKey" IS NULL THEN e."spec" END`, 'legacy_spec');
      const rows = await qb.getRawMany<{ id: string; metric_value: number | string; group_0: string | null; legacy_spec: string | ExperimentSpec | null }>();
      return rows.map((r) => ({ id: r.id, value: Number(r.metric_value), groups: [r.group_0 ?? legacyConfigKey(r.id, r.legacy_spec)] }));
    }
    const context: ResolveContext = {
      dialect: this.dialect,
      bind: () => {
        throw new Error('a grouping path takes no parameters');
      },
    };
    const booleans = grouping.paths.map((path, i) => {
      const field = FILTER_FIELDS.resolve(path, context);
      if (field === undefined || field.type === 'date') throw new Error(`'${path}' is not a groupable spec path`);
      qb.addSelect(field.sql, `group_${i}`);
      return field.type === 'boolean';
    });
    const rows = await qb.getRawMany<Record<string, unknown> & { id: string; metric_value: number | string }>();
    // SQLite's json_extract gives a JSON boolean as 1 or 0; the grouping shows the spec's value.
    const valueOf = (raw: unknown, boolean: boolean): unknown => (raw === undefined || raw === null ? null : boolean && typeof raw === 'number' ? raw !== 0 : raw);
    return rows.map((r) => ({ id: r.id, value: Number(r.metric_value), groups: booleans.map((boolean, i) => valueOf(r[`group_${i}`], boolean)) }));
  }

  /**
   * The ranking's query: whole experiments (`entities`, ordered and limited), or without ORDER BY
   * the id and spec columns (`specs`) or the id alone (`ids`, callers add columns); the value is
   * `metric_value`. `window` (final values only) ranks only the runs among the metric's `window`
   * best final values (see windowedLeaderboard).
   */
  private rankingQuery(query: LeaderboardQuery, shape: 'entities' | 'ids', window: number | null = null) {
    const qb = this.experiments.createQueryBuilder('e');
    if (shape === 'ids') qb.select('e.id', 'id');
    if ((query.value ?? 'final') === 'final' && window !== null) {
      qb.innerJoin(
        (sub) =>
          sub
            .select('w.experimentId', 'experimentId')
            .addSelect('w.value', 'value')
            .from(MetricEntity, 'w')
            .where('w.split = :split AND w.name = :metric AND w.epoch = 0', { split: 'test', metric: query.metric })
            .orderBy('w.value', query.order === 'asc' ? 'ASC' : 'DESC')
            .limit(window),
        'm',
        'm."experimentId" = e.id',
      ).addSelect('m.value', 'metric_value');
    } else if ((query.value ?? 'final') === 'final') {
      // SQLite: the board's runs first, each final point found by its run (the final-point index,
      // which covers it). Without planner statistics (the product runs no ANALYZE) SQLite would
      // rather walk every run's final point of the metric through the ranking index and look each
      // run up: twice the time on a board of 3,600 runs among 10,000. `+` keeps it off that index;
      // the window above is the plan that walks it.
      const split = this.dialect === 'sqlite' ? '+m.split' : 'm.split';
      qb.innerJoin(MetricEntity, 'm', `m.experimentId = e.id AND m.epoch = 0 AND ${split} = :split AND m.name = :metric`, { split: 'test', metric: query.metric }).addSelect('m.value', 'metric_value');
    } else {
      const best = query.order === 'asc' ? 'MIN' : 'MAX';
      qb.innerJoin(
        (sub) =>
          sub
            .select('bm.experimentId', 'experimentId')
            .addSelect(`${best}(bm.value)`, 'best')
            .from(MetricEntity, 'bm')
            .where('bm.split = :split AND bm.name = :metric', { split: 'validation', metric: query.metric })
            .groupBy('bm.experimentId'),
        'b',
        'b."experimentId" = e.id',
      ).addSelect('b.best', 'metric_value');
    }
    qb.andWhere('e.boardKey = :board AND e.status = :status', { board: query.boardKey, status: 'completed' });
    // Runs no better than the data set's baseline are listed apart, never ranked among the others.
    qb.andWhere(query.belowBaseline === true ? 'e.belowBaseline IS TRUE' : 'e.belowBaseline IS NOT TRUE');
    if (query.family) qb.andWhere('e.modelFamily = :family', { family: query.family });
    if (query.filter !== undefined && query.filter.trim() !== '') {
      const compiled = this.compileFilter(query.filter);
      qb.andWhere(`(${compiled.sql})`, compiled.params);
    }
    // Rows for grouping come unordered: without ORDER BY, PostgreSQL starts from the board's
    // runs instead of walking every run's metric in value order (bench:api: the grouped query's
    // plan). The caller orders them.
    if (shape === 'entities') qb.orderBy('metric_value', query.order === 'asc' ? 'ASC' : 'DESC').addOrderBy('e.createdAt', 'ASC').addOrderBy('e.id', 'ASC');
    if (query.limit !== null) qb.limit(query.limit);
    return qb;
  }

  /** The boards of a data set (those with at least one experiment), with counts and the metrics present. */
  async boards(datasetName: string): Promise<BoardSummary[]> {
    const counts = await this.experiments
      .createQueryBuilder('e')
      .select('e.boardKey', 'key')
      .addSelect('COUNT(*)', 'experiments')
      .addSelect(`SUM(CASE WHEN e.status = 'completed' THEN 1 ELSE 0 END)`, 'completed')
      .addSelect('MIN(e.id)', 'sample')
      .where('e.datasetName = :dataset', { dataset: datasetName })
      .groupBy('e.boardKey')
      .orderBy('e.boardKey', 'ASC')
      .getRawMany<{ key: string; experiments: number | string; completed: number | string | null; sample: string }>();
    if (counts.length === 0) return [];
    const metrics = await this.metrics
      .createQueryBuilder('m')
      .innerJoin(ExperimentEntity, 'e', 'e.id = m.experimentId')
      .select('e.boardKey', 'key')
      .addSelect('m.name', 'name')
      .distinct(true)
      .where('e.datasetName = :dataset AND e.status = :status AND m.split = :split AND m.epoch = 0', { dataset: datasetName, status: 'completed', split: 'test' })
      .getRawMany<{ key: string; name: string }>();
    const samples = new Map((await this.experiments.find({ select: { id: true, spec: true }, where: { id: In(counts.map((c) => c.sample)) } })).map((e) => [e.id, e.spec]));
    return counts.map((c) => ({
      key: c.key,
      datasetName,
      sampleSpec: samples.get(c.sample)!,
      experiments: Number(c.experiments),
      completed: Number(c.completed ?? 0),
      metrics: metrics
        .filter((m) => m.key === c.key)
        .map((m) => m.name)
        .sort(),
    }));
  }

  /** One experiment's spec on a board (all share the board options), or null when the board has none. */
  async boardSample(boardKey: string): Promise<ExperimentSpec | null> {
    const row = await this.experiments.findOne({ select: { id: true, spec: true }, where: { boardKey } });
    return row?.spec ?? null;
  }

  /** Experiments by id (any order; absent ids are left out). */
  findByIds(ids: readonly string[]): Promise<ExperimentEntity[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.experiments.find({ where: { id: In([...ids]) } });
  }

  /** Every train and validation point of the given experiments, by epoch. */
  async curvePoints(ids: readonly string[]): Promise<Pick<MetricEntity, 'experimentId' | 'epoch' | 'split' | 'name' | 'value'>[]> {
    if (ids.length === 0) return [];
    // By run only, the splits picked here: a condition on split let SQLite walk every point of
    // the split in the ranking index instead of each run's points. Raw rows: no entity per point.
    const rows = await this.metrics
      .createQueryBuilder('m')
      .select('m.experimentId', 'experimentId')
      .addSelect('m.epoch', 'epoch')
      .addSelect('m.split', 'split')
      .addSelect('m.name', 'name')
      .addSelect('m.value', 'value')
      .where('m.experimentId IN (:...ids)', { ids: [...ids] })
      .orderBy('m.epoch', 'ASC')
      .getRawMany<{ experimentId: string; epoch: number; split: MetricSplit; name: string; value: number | string }>();
    return rows.filter((r) => r.split === 'train' || r.split === 'validation').map((r) => ({ experimentId: r.experimentId, epoch: Number(r.epoch), split: r.split, name: r.name, value: Number(r.value) }));
  }
}
