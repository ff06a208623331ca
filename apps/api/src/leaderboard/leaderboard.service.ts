import { Injectable, NotFoundException } from '@nestjs/common';
import { type BaselineComparison, type BoardDataset, boardOf, compareWithBaseline, type DatasetName, defaultBoardOf, type ExperimentSpec } from '@tfleet/contracts';
import { type ExperimentEntity, ExperimentsRepository, type LeaderboardRow, type RankedGroupRow } from '@tfleet/persistence';
import { groupStats, type GroupStats } from '@tfleet/query';
import { withFilterErrors } from '../common/filter-errors';

/** Metrics where smaller is better; the default order follows the metric. */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set(['loss', 'perplexity', 'mse', 'phonemeErrorRate', 'tokenErrorRate']);

/** `groupBy=config`: runs whose specs differ only in `training.seed` (and `name`) form one group. */
export const GROUP_BY_CONFIG = 'config';

export interface LeaderboardRequest {
  /** The data set whose default board is ranked (unless `board` names another). */
  dataset?: DatasetName;
  /** A board key; 404 when no experiment is on it (or it is not `dataset`'s). */
  board?: string;
  metric: string;
  order?: 'asc' | 'desc';
  limit: number;
  family?: string;
  /** 'final' (default): the final test value; 'best': the best validation value over epochs; 'mean': groups. */
  aggregate?: 'final' | 'best' | 'mean';
  filter?: string;
  /** Spec paths (already validated) or ['config']; groups are ranked by their mean. */
  groupBy?: string[];
}

export interface BoardView {
  key: string;
  dataset: BoardDataset;
  /** Whether this is the data set's default board (the one a leaderboard shows unless asked). */
  default: boolean;
  experiments: number;
  completed: number;
  metrics: string[];
}

export interface LeaderboardEntry {
  rank: number;
  id: string;
  boardKey: string;
  name: string | null;
  family: string;
  value: number;
  metrics: ExperimentEntity['testMetrics'];
  paramCount: number | null;
  samplesPerSecond: number | null;
  wallTimeMs: number | null;
  backend: string | null;
  device: string | null;
  ranks: number | null;
  tfjsVersion: string | null;
  finishedAt: string | null;
}

export interface LeaderboardGroup extends GroupStats {
  rank: number;
  boardKey: string;
  /** The grouping values: `{ 'model.units': 64 }`, or `{ config: '<configKeyOf>' }`. */
  group: Record<string, unknown>;
  /** The group's runs, best first. */
  ids: string[];
}

interface RankingHead {
  dataset: string;
  boardKey: string;
  board: BoardDataset;
  metric: string;
  order: 'asc' | 'desc';
  filter: string | null;
}

/** A completed run no better than its data set's baseline: listed apart from the ranking, unranked. */
export type BelowBaselineEntry = Omit<LeaderboardEntry, 'rank'> & { baseline: BaselineComparison | null };

/** `belowBaseline`: the board's runs (same filter, metric and order) that the ranking leaves out. */
export type Ranking = RankingHead & { aggregate: 'final' | 'best'; entries: LeaderboardEntry[]; belowBaseline: BelowBaselineEntry[] };
export type GroupedRanking = RankingHead & { aggregate: 'mean'; groupBy: string[]; groups: LeaderboardGroup[]; belowBaseline: BelowBaselineEntry[] };

/** The ranking rules: which runs share a ranking (one board), by which value, in which order, and groups. */
@Injectable()
export class LeaderboardService {
  constructor(private readonly repository: ExperimentsRepository) {}

  /** Ascending for metrics where smaller is better, descending otherwise, unless asked. */
  static orderFor(metric: string, order?: 'asc' | 'desc'): 'asc' | 'desc' {
    return order ?? (LOWER_IS_BETTER.has(metric) ? 'asc' : 'desc');
  }

  /** The boards of a data set that have experiments, the default board first. */
  async boards(dataset: DatasetName): Promise<BoardView[]> {
    const defaultKey = defaultBoardOf(dataset).key;
    const boards = (await this.repository.boards(dataset)).map((b) => ({
      key: b.key,
      dataset: this.canonicalOf(b.key, b.sampleSpec),
      default: b.key === defaultKey,
      experiments: b.experiments,
      completed: b.completed,
      metrics: b.metrics,
    }));
    return boards.sort((a, b) => Number(b.default) - Number(a.default) || (a.key < b.key ? -1 : 1));
  }

  rank(request: LeaderboardRequest): Promise<Ranking | GroupedRanking> {
    return withFilterErrors(async () => {
      const { boardKey, board, dataset } = await this.resolveBoard(request);
      const order = LeaderboardService.orderFor(request.metric, request.order);
      const filter = request.filter !== undefined && request.filter.trim() !== '' ? request.filter : undefined;
      const head: RankingHead = { dataset, boardKey, board, metric: request.metric, order, filter: filter ?? null };
      const value = request.aggregate === 'best' ? 'best' : 'final';
      const query = { boardKey, metric: request.metric, order, family: request.family, value, filter } as const;
      const below = (await this.repository.leaderboard({ ...query, limit: request.limit, belowBaseline: true })).map((row) => this.belowBaselineEntry(row));
      if (request.groupBy !== undefined) {
        const grouping = request.groupBy[0] === GROUP_BY_CONFIG ? 'config' : { paths: request.groupBy };
        const rows = await this.repository.rankedGroupRows({ ...query, limit: null }, grouping);
        return { ...head, aggregate: 'mean', groupBy: request.groupBy, groups: this.groups(rows, request.groupBy, order, boardKey).slice(0, request.limit), belowBaseline: below };
      }
      const rows = await this.repository.leaderboard({ ...query, limit: request.limit });
      return { ...head, aggregate: value, entries: rows.map((row, i) => this.entry(row, i + 1)), belowBaseline: below };
    });
  }

  /** The board asked for: `board`, checked to exist (and to be `dataset`'s), else the data set's default. */
  private async resolveBoard(request: LeaderboardRequest): Promise<{ boardKey: string; board: BoardDataset; dataset: string }> {
    if (request.board === undefined) {
      const board = defaultBoardOf(request.dataset!);
      return { boardKey: board.key, board: board.dataset, dataset: request.dataset! };
    }
    const sample = await this.repository.boardSample(request.board);
    if (sample === null || (request.dataset !== undefined && sample.dataset.name !== request.dataset)) {
      throw new NotFoundException(`no board ${request.board}${request.dataset !== undefined ? ` on data set ${request.dataset}` : ''} (GET /api/boards?dataset=... lists them)`);
    }
    return { boardKey: request.board, board: this.canonicalOf(request.board, sample), dataset: sample.dataset.name };
  }

  /** The canonical options of a board, from one of its specs (an unparsable legacy board shows its name only). */
  private canonicalOf(key: string, spec: ExperimentSpec): BoardDataset {
    try {
      const board = boardOf(spec.dataset);
      if (board.key === key) return board.dataset;
    } catch {
      // a legacy spec the current schema rejects: its board is '<name>-unparsed'
    }
    return { name: spec.dataset.name };
  }

  private entry({ experiment: e, value }: LeaderboardRow, rank: number): LeaderboardEntry {
    return {
      rank,
      id: e.id,
      boardKey: e.boardKey,
      name: e.name,
      family: e.modelFamily,
      value,
      metrics: e.testMetrics,
      paramCount: e.paramCount,
      samplesPerSecond: e.samplesPerSecond,
      wallTimeMs: e.wallTimeMs,
      backend: e.backend,
      device: e.runtime?.device ?? null,
      ranks: e.runtime?.ranks ?? null,
      tfjsVersion: e.runtime?.tfjsVersion ?? null,
      finishedAt: e.finishedAt?.toISOString() ?? null,
    };
  }

  private belowBaselineEntry(row: LeaderboardRow): BelowBaselineEntry {
    const { rank: _unranked, ...entry } = this.entry(row, 0);
    return { ...entry, baseline: compareWithBaseline(row.experiment.testMetrics, row.experiment.baselines) };
  }

  /** Groups ranked runs (best first) and ranks the groups by their mean. */
  private groups(rows: RankedGroupRow[], groupBy: string[], order: 'asc' | 'desc', boardKey: string): LeaderboardGroup[] {
    const byKey = new Map<string, { group: Record<string, unknown>; ids: string[]; values: number[] }>();
    const sign = order === 'asc' ? 1 : -1;
    const ranked = [...rows].sort((a, b) => sign * (a.value - b.value) || (a.id < b.id ? -1 : 1));
    for (const { id, value, groups } of ranked) {
      const key = JSON.stringify(groups);
      let entry = byKey.get(key);
      if (entry === undefined) {
        entry = { group: Object.fromEntries(groupBy.map((path, i) => [path, groups[i]])), ids: [], values: [] };
        byKey.set(key, entry);
      }
      entry.ids.push(id);
      entry.values.push(value);
    }
    return [...byKey.values()]
      .map(({ group, ids, values }) => ({ boardKey, group, ids, ...groupStats(values) }))
      .sort((a, b) => sign * (a.mean - b.mean) || b.n - a.n)
      .map((g, i) => ({ rank: i + 1, ...g }));
  }
}
