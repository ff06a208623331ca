import { z } from 'zod';
import { experimentSpecSchema } from './experiment-spec';
import { runtimeInfoSchema } from './runtime-info';

/** BullMQ queue names. The key prefix (TFLEET_QUEUE_PREFIX) separates deployments and tests. */
export enum QueueName {
  /** API -> workers: one job per experiment, job id = experiment id. */
  Experiments = 'experiments',
  /** Workers -> API: run events, persisted in order by the API (the only database writer). */
  RunEvents = 'run-events',
}

export enum JobName {
  TrainExperiment = 'train-experiment',
  RunEvent = 'run-event',
}

export type TrainExperimentJobData = z.infer<typeof trainExperimentJobDataSchema>;

/** Metric name -> value. Names: loss, accuracy, perplexity, mse, tokenAccuracy, ... */
const metricValuesSchema = z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), z.number());
export type MetricValues = z.infer<typeof metricValuesSchema>;

/** Live progress, reported through `job.updateProgress` and shown by the API. */
export const trainingProgressSchema = z.strictObject({
  epoch: z.int().min(0),
  epochs: z.int().min(1),
  step: z.int().min(0),
  totalSteps: z.int().min(1),
  loss: z.number().nullable(),
  samplesPerSecond: z.number().min(0),
  /** Share of the step time since the last report spent in the gradient all-reduce (0 on one rank). */
  allReduceShare: z.number().min(0).max(1).optional(),
});
export type TrainingProgress = z.infer<typeof trainingProgressSchema>;

const eventBase = {
  experimentId: z.uuid(),
  /** BullMQ attempt number that produced the event; the API ignores events of stale attempts. */
  attempt: z.int().min(1),
  /** Position of the event within its attempt; with the attempt it makes the event idempotent. */
  seq: z.int().min(0),
  at: z.iso.datetime(),
};

/** A model serialised with `tf.io.withSaveHandler`: topology, weight specs, one buffer (base64). */
const serializedModelSchema = z.strictObject({
  modelTopology: z.record(z.string(), z.unknown()),
  weightSpecs: z.array(
    z.strictObject({
      name: z.string(),
      shape: z.array(z.int().min(0)),
      dtype: z.enum(['float32', 'int32', 'bool']),
    }),
  ),
  weightDataBase64: z.string(),
});
export type SerializedModel = z.infer<typeof serializedModelSchema>;

export const checkpointPayloadSchema = z.strictObject({
  step: z.int().min(0),
  epoch: z.int().min(0),
  kind: z.enum(['periodic', 'epoch', 'final']),
  model: serializedModelSchema,
  /** Optimizer variables (e.g. Adam's moments) in the order the optimizer reports them. */
  optimizer: z
    .strictObject({
      weightSpecs: z.array(z.strictObject({ name: z.string(), shape: z.array(z.int().min(0)) })),
      weightDataBase64: z.string(),
    })
    .optional(),
  /** Everything else needed to continue exactly: data cursor, RNG state, task artefacts. */
  state: z.record(z.string(), z.unknown()),
});
export type CheckpointPayload = z.infer<typeof checkpointPayloadSchema>;

/**
 * Where a checkpoint lies in the checkpoint store (@tfleet/artifacts): `<experimentId>/<step>-<kind>-<attempt>`.
 * Only references travel through Redis; the weights stay in the store.
 */
export const checkpointRefSchema = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/\d{1,10}-(periodic|epoch|final)-\d{1,6}$/, 'a checkpoint reference <experimentId>/<step>-<kind>-<attempt>');
export type CheckpointRef = z.infer<typeof checkpointRefSchema>;

/** A stored checkpoint as Redis carries it: where it is and what it is, never its weights. */
export const checkpointPointerSchema = z.strictObject({
  ref: checkpointRefSchema,
  step: z.int().min(0),
  epoch: z.int().min(0),
  kind: z.enum(['periodic', 'epoch', 'final']),
  /** Size of the stored file. */
  bytes: z.int().min(0),
});
export type CheckpointPointer = z.infer<typeof checkpointPointerSchema>;

export const trainExperimentJobDataSchema = z.strictObject({
  experimentId: z.uuid(),
  spec: experimentSpecSchema,
  /** Final checkpoint of `spec.model.pretrainedFrom` in the store, named by the API (workers never open the DB). */
  pretrained: checkpointPointerSchema.optional(),
});

/** What an epoch reports; shared by rank reports and run events. */
export const epochResultFields = {
  epoch: z.int().min(1),
  step: z.int().min(0),
  train: metricValuesSchema,
  validation: metricValuesSchema,
  samplesPerSecond: z.number().min(0),
  wallTimeMs: z.number().min(0),
};

/** What a finished run reports; shared by rank reports and run events. */
export const runResultFields = {
  test: metricValuesSchema,
  /** Reference figures on the same split (e.g. unigram and bigram perplexity). */
  baselines: metricValuesSchema,
  steps: z.int().min(0),
  epochs: z.int().min(0),
  samplesPerSecond: z.number().min(0),
  wallTimeMs: z.number().min(0),
};

/**
 * A run whose loss became NaN or infinite: the step at which it did, the value, and the last
 * finite loss before it (null when the first step already diverged). Deterministic for a spec
 * and seed, so it is never retried.
 */
export const divergenceFields = {
  step: z.int().min(1),
  /** JSON has no NaN or Infinity: the non-finite loss by name. */
  loss: z.enum(['NaN', 'Infinity', '-Infinity']),
  lastFiniteLoss: z.number().nullable(),
};

export const runEventSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...eventBase,
    type: z.literal('started'),
    runtime: runtimeInfoSchema,
    paramCount: z.int().min(0),
    /** The step of the checkpoint this attempt resumed from; absent or null when it started fresh. */
    resumedFromStep: z.int().min(0).nullable().optional(),
  }),
  z.strictObject({ ...eventBase, type: z.literal('epoch'), ...epochResultFields }),
  z.strictObject({ ...eventBase, type: z.literal('checkpoint'), checkpoint: checkpointPointerSchema }),
  z.strictObject({ ...eventBase, type: z.literal('completed'), ...runResultFields, scalingEfficiency: z.number().min(0).nullable() }),
  z.strictObject({ ...eventBase, type: z.literal('failed'), error: z.string(), willRetry: z.boolean() }),
  z.strictObject({ ...eventBase, type: z.literal('cancelled'), step: z.int().min(0) }),
  z.strictObject({ ...eventBase, type: z.literal('diverged'), ...divergenceFields }),
]);
export type RunEvent = z.infer<typeof runEventSchema>;
export type RunEventType = RunEvent['type'];
/** Distributes Omit over the union so each event keeps its own fields. */
export type RunEventBody = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'experimentId' | 'attempt' | 'seq' | 'at'> : never) : never;
