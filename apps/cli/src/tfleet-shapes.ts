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

/** A `progress` server-sent event: the worker's report with the server's estimate of the seconds left. */
export const liveProgressShape = progressShape.extend({ experimentId: z.string(), etaSeconds: z.number().nullable() });

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

/** Why ASHA stopped a trial: the rung (0-based), its epoch, the trial's value and the rung's cutoff. */
const trialStopShape = z.looseObject({ rung: z.number(), epoch: z.number(), metric: z.string(), value: z.number(), cutoff: z.number() });

export const trialShape = z.looseObject({
  id: z.string(),
  index: z.number(),
  seed: z.number(),
  assignment: z.record(z.string(), z.unknown()),
  status: z.string(),
  epochs: z.number(),
  metric: z.number().nullable(),
  test: z.number().nullable(),
  stop: trialStopShape.nullable(),
  error: z.string().nullable(),
});
export type TrialShape = z.output<typeof trialShape>;

const sweepSummaryShape = z.looseObject({
  id: z.string(),
  name: z.string().nullable(),
  kind: z.string(),
  status: z.string(),
  method: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});

export const sweepPageShape = z.looseObject({ items: z.array(sweepSummaryShape), total: z.number(), page: z.number(), pageSize: z.number() });

/** GET /api/sweeps/:id: the trials in plan order, counts by status, epochs spent, the best completed trial. */
export const sweepShape = sweepSummaryShape.extend({
  metric: z.looseObject({ name: z.string(), mode: z.enum(['min', 'max']) }),
  trials: z.array(trialShape),
  counts: z.record(z.string(), z.number()),
  epochsSpent: z.number(),
  best: z.looseObject({ id: z.string(), assignment: z.record(z.string(), z.unknown()), seed: z.number(), test: z.number().nullable() }).nullable(),
  stoppedBy: z.looseObject({ trialId: z.string(), metric: z.string() }).nullable(),
});
export type SweepShape = z.output<typeof sweepShape>;

export const rerunShape = z.looseObject({ requeued: z.array(z.string()), sweep: sweepShape });

/** GET /api/shootouts/:id: the suite's trials, rows and claim verdicts. */
export const shootoutShape = z.looseObject({
  id: z.string(),
  status: z.string(),
  suite: z.string(),
  seeds: z.array(z.number()),
  metric: z.looseObject({ name: z.string() }),
  trials: z.array(z.looseObject({ id: z.string(), label: z.string(), seed: z.number(), status: z.string(), test: z.record(z.string(), z.number()).nullable() })),
  claims: z.array(z.looseObject({ id: z.string(), statement: z.string(), verdict: z.string(), checks: z.array(z.looseObject({ holds: z.boolean().nullable(), evidence: z.string() })) })),
  markdown: z.string(),
});

/** POST /api/experiments/:id/predict: the prediction, whose shape follows the task. */
export const predictionShape = z.looseObject({ prediction: z.looseObject({ kind: z.string() }) });

/** A tfjs LayersModel artifact (model.json): the weight files it names are fetched next to it. */
export const modelJsonShape = z.looseObject({
  modelTopology: z.unknown(),
  weightsManifest: z.array(z.looseObject({ paths: z.array(z.string().regex(/^[A-Za-z0-9._-]+$/, 'a plain file name')) })),
});
