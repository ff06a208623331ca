import { Injectable } from '@nestjs/common';
import { ExperimentsRepository } from '@tfleet/persistence';

/** Metrics where smaller is better; the default order follows the metric. */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set(['loss', 'perplexity', 'mse', 'phonemeErrorRate', 'tokenErrorRate']);

export interface LeaderboardRequest {
  dataset: string;
  metric: string;
  order?: 'asc' | 'desc';
  limit: number;
  family?: string;
}

/** The ranking rules: which runs, by which value, in which order. */
@Injectable()
export class LeaderboardService {
  constructor(private readonly repository: ExperimentsRepository) {}

  /** Ascending for metrics where smaller is better, descending otherwise, unless asked. */
  static orderFor(metric: string, order?: 'asc' | 'desc'): 'asc' | 'desc' {
    return order ?? (LOWER_IS_BETTER.has(metric) ? 'asc' : 'desc');
  }

  async rank(request: LeaderboardRequest) {
    const order = LeaderboardService.orderFor(request.metric, request.order);
    const rows = await this.repository.leaderboard({ datasetName: request.dataset, metric: request.metric, order, limit: request.limit, family: request.family });
    return {
      dataset: request.dataset,
      metric: request.metric,
      order,
      entries: rows.map(({ experiment: e, value }, i) => ({
        rank: i + 1,
        id: e.id,
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
      })),
    };
  }
}
