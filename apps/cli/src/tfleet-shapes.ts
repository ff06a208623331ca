import { z } from 'zod';

/**
 * The parts of the API's answers that the CLI reads, checked on arrival. Objects are loose: a
 * newer server may add fields, and `--json` prints the answer as it came.
 */
const metricValues = z.record(z.string(), z.number());

export const progressShape = z.looseObject({
  epoch: z.number(),
  epochs: z.number(),
  step: z.number(),
  totalSteps: z.number(),
  loss: z.number().nullable(),
  samplesPerSecond: z.number(),
});
export type ProgressShape = z.output<typeof progressShape>;

export const experimentShape = z.looseObject({
  id: z.string(),
  name: z.string().nullable(),
  status: z.string(),
  dataset: z.string(),
  family: z.string(),
  spec: z.looseObject({ training: z.looseObject({ batchSize: z.number() }) }),
  progress: progressShape.nullable(),
  attempt: z.number(),
  metrics: metricValues.nullable(),
  steps: z.number().nullable(),
  epochs: z.number().nullable(),
  samplesPerSecond: z.number().nullable(),
  wallTimeMs: z.number().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  boardKey: z.string(),
  runtime: z.looseObject({ backend: z.string().optional(), device: z.string().optional(), ranks: z.number().optional(), workerId: z.string().optional() }).nullable(),
  queue: z.looseObject({ state: z.string().nullable(), worker: z.string().nullable() }).optional(),
});
export type ExperimentShape = z.output<typeof experimentShape>;

export const experimentPageShape = z.looseObject({
  items: z.array(experimentShape),
  total: z.number(),
  page: z.number(),
  pageSize: z.number(),
});

export const boardsShape = z.looseObject({
  dataset: z.string(),
  boards: z.array(z.looseObject({ key: z.string(), default: z.boolean(), experiments: z.number(), completed: z.number(), metrics: z.array(z.string()), dataset: z.record(z.string(), z.unknown()) })),
});

const entryShape = z.looseObject({
  rank: z.number(),
  id: z.string(),
  name: z.string().nullable(),
  family: z.string(),
  value: z.number(),
  paramCount: z.number().nullable(),
  samplesPerSecond: z.number().nullable(),
  backend: z.string().nullable(),
  ranks: z.number().nullable(),
});
const groupShape = z.looseObject({
  rank: z.number(),
  group: z.record(z.string(), z.unknown()),
  n: z.number(),
  mean: z.number(),
  std: z.number().nullable(),
  min: z.number(),
  max: z.number(),
  ids: z.array(z.string()),
});
export const leaderboardShape = z.looseObject({
  dataset: z.string(),
  boardKey: z.string(),
  metric: z.string(),
  order: z.enum(['asc', 'desc']),
  aggregate: z.string(),
  entries: z.array(entryShape).optional(),
  groups: z.array(groupShape).optional(),
});

export const compareShape = z.looseObject({
  runs: z.array(z.looseObject({ id: z.string(), name: z.string().nullable().optional(), status: z.string().optional(), metrics: metricValues.nullable(), boardKey: z.string() })),
  differences: z.array(z.string()),
  differing: z.record(z.string(), z.array(z.unknown())),
  sameBoard: z.boolean(),
});

export const workersShape = z.looseObject({
  workers: z.array(
    z.looseObject({
      id: z.string(),
      host: z.string(),
      backend: z.string(),
      state: z.string(),
      maxRanks: z.number(),
      currentExperiments: z.array(z.string()),
      jobsDone: z.number(),
      lastSeenMsAgo: z.number(),
    }),
  ),
});

export const queueShape = z.looseObject({ paused: z.boolean(), counts: z.record(z.string(), z.number()) });

export const sweepShape = z.looseObject({
  id: z.string(),
  name: z.string().nullable().optional(),
  status: z.string().optional(),
  trials: z.array(z.looseObject({ id: z.string(), status: z.string() })).optional(),
});

/** A tfjs LayersModel artifact (model.json): the weight files it names are fetched next to it. */
export const modelJsonShape = z.looseObject({
  modelTopology: z.unknown(),
  weightsManifest: z.array(z.looseObject({ paths: z.array(z.string().regex(/^[A-Za-z0-9._-]+$/, 'a plain file name')) })),
});
