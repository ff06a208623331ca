import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { DATASET_NAMES, MODEL_FAMILIES } from '@tfleet/contracts';
import { ExperimentsRepository } from '@tfleet/persistence';
import { zodPipe } from '../common/zod-validation.pipe';

/** Metrics where smaller is better; the default order follows the metric. */
const LOWER_IS_BETTER = new Set(['loss', 'perplexity', 'mse', 'phonemeErrorRate', 'tokenErrorRate']);

const leaderboardQuerySchema = z.strictObject({
  dataset: z.enum(DATASET_NAMES),
  metric: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]*$/)
    .default('accuracy'),
  order: z.enum(['asc', 'desc']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(20),
  family: z.enum(MODEL_FAMILIES).optional(),
});

@ApiTags('leaderboard')
@ApiBearerAuth()
@Controller('leaderboard')
export class LeaderboardController {
  constructor(private readonly repository: ExperimentsRepository) {}

  @Get()
  @ApiOperation({ summary: 'Completed experiments on a data set ranked by a final test metric' })
  async leaderboard(@Query(zodPipe('query', leaderboardQuerySchema)) query: z.output<typeof leaderboardQuerySchema>) {
    const order = query.order ?? (LOWER_IS_BETTER.has(query.metric) ? 'asc' : 'desc');
    const rows = await this.repository.leaderboard({ datasetName: query.dataset, metric: query.metric, order, limit: query.limit, family: query.family });
    return {
      dataset: query.dataset,
      metric: query.metric,
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
