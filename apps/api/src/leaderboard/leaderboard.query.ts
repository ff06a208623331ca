import { z } from 'zod';
import { DATASET_NAMES, MODEL_FAMILIES } from '@tfleet/contracts';
import { specFieldCatalogue } from '@tfleet/query';
import { filterParam } from '../common/filter-errors';
import { GROUP_BY_CONFIG } from './leaderboard.service';

/** Spec paths a leaderboard may group by: the scalar options (lists are not groupable). */
const GROUPABLE: ReadonlySet<string> = new Set(specFieldCatalogue().keys());


const groupByParam = z
  .string()
  .transform((text) => text.split(',').map((p) => p.trim()))
  .superRefine((paths, ctx) => {
    if (paths.includes(GROUP_BY_CONFIG)) {
      if (paths.length > 1) ctx.addIssue({ code: 'custom', message: `'${GROUP_BY_CONFIG}' groups alone; do not combine it with spec paths` });
      return;
    }
    if (new Set(paths).size !== paths.length) ctx.addIssue({ code: 'custom', message: 'a path is named twice' });
    const unknown = paths.filter((p) => !GROUPABLE.has(p));
    if (unknown.length > 0) {
      ctx.addIssue({ code: 'custom', message: `not a groupable spec path: ${unknown.map((p) => `'${p}'`).join(', ')}; use '${GROUP_BY_CONFIG}' or scalar spec paths such as model.units, training.learningRate` });
    }
  });

export const leaderboardQuerySchema = z
  .strictObject({
    dataset: z.enum(DATASET_NAMES).optional(),
    board: z
      .string()
      .regex(/^[a-z0-9-]{1,80}$/, 'a board key such as mnist-0123456789ab (GET /api/boards lists them)')
      .optional(),
    metric: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]*$/)
      .max(64)
      .default('accuracy'),
    order: z.enum(['asc', 'desc']).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(20),
    family: z.enum(MODEL_FAMILIES).optional(),
    aggregate: z.enum(['final', 'best', 'mean']).optional(),
    filter: filterParam,
    groupBy: groupByParam.optional(),
  })
  .superRefine((q, ctx) => {
    if (q.dataset === undefined && q.board === undefined) ctx.addIssue({ code: 'custom', path: ['dataset'], message: 'a data set (or a board key) is required' });
    if (q.groupBy !== undefined && q.aggregate !== undefined && q.aggregate !== 'mean') {
      ctx.addIssue({ code: 'custom', path: ['aggregate'], message: 'groups are ranked by their mean: use aggregate=mean with groupBy' });
    }
    if (q.groupBy === undefined && q.aggregate === 'mean') ctx.addIssue({ code: 'custom', path: ['groupBy'], message: 'aggregate=mean needs groupBy (spec paths or config)' });
  });

export type LeaderboardQuery = z.output<typeof leaderboardQuerySchema>;

export const boardsQuerySchema = z.strictObject({ dataset: z.enum(DATASET_NAMES) });
