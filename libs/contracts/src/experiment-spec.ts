import { z } from 'zod';

/**
 * The experiment spec: the public contract of `POST /api/experiments`.
 *
 * Every option has a default, so `{ dataset: { name: 'mnist' }, model: { family: 'cnn' } }`
 * is complete. Objects are strict: an unknown field is an error, never silently ignored.
 * The same schema re-validates job data read back from Redis in the worker.
 */

const positiveInt = (max: number) => z.int().min(1).max(max);
const fraction = z.number().min(0).max(0.5);
/** Split seed fixed by default so every experiment on a data set sees the same held-out split. */
const splitSeed = z.int().min(0).max(2 ** 31 - 1).default(20261128);

export const DATASET_NAMES = [
  'mnist',
  'synthetic-images',
  'brown',
  'cmudict',
  'adding',
  'copy',
  'spam-assassin',
] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export const mnistDatasetSchema = z.strictObject({
  name: z.literal('mnist'),
  /** Use only the first N of the package's 10,000 digits (after the seeded shuffle). */
  samples: z.int().min(100).max(10_000).default(10_000),
  validationFraction: fraction.default(0.1),
  testFraction: fraction.default(0.1),
  splitSeed,
});

export const syntheticImagesDatasetSchema = z.strictObject({
  name: z.literal('synthetic-images'),
  height: positiveInt(512).default(28),
  width: positiveInt(512).default(28),
  channels: positiveInt(4).default(1),
  classes: z.int().min(2).max(1000).default(10),
  samples: z.int().min(10).max(200_000).default(2_000),
  /** Standard deviation of the pixel noise added on top of each class's pattern. */
  noise: z.number().min(0).max(10).default(0.5),
  validationFraction: fraction.default(0.1),
  testFraction: fraction.default(0.1),
  splitSeed,
});

export const brownDatasetSchema = z.strictObject({
  name: z.literal('brown'),
  /** Word-level or character-level language modelling. */
  level: z.enum(['word', 'char']).default('word'),
  sequenceLength: z.int().min(2).max(1024).default(32),
  /** Vocabulary size for word level (most frequent training words; the rest map to `<unk>`). */
  vocabSize: z.int().min(16).max(50_000).default(5_000),
  /** Cap on training tokens, to bound memory and epoch length. */
  maxTokens: z.int().min(1_000).max(2_000_000).default(400_000),
  validationFraction: fraction.default(0.1),
  testFraction: fraction.default(0.1),
  splitSeed,
});

export const cmudictDatasetSchema = z.strictObject({
  name: z.literal('cmudict'),
  maxWordLength: z.int().min(2).max(32).default(12),
  samples: z.int().min(100).max(140_000).default(30_000),
  validationFraction: fraction.default(0.1),
  testFraction: fraction.default(0.1),
  splitSeed,
});

export const addingDatasetSchema = z.strictObject({
  name: z.literal('adding'),
  sequenceLength: z.int().min(2).max(2_000).default(100),
  samples: z.int().min(100).max(200_000).default(10_000),
  validationFraction: fraction.default(0.1),
  testFraction: fraction.default(0.1),
  splitSeed,
});

export const copyDatasetSchema = z.strictObject({
  name: z.literal('copy'),
  sequenceLength: z.int().min(1).max(1_000).default(10),
  /** Blank steps between the sequence and the recall marker. */
  delay: z.int().min(0).max(2_000).default(20),
  /** Number of distinct symbols to copy. */
  symbols: z.int().min(2).max(256).default(8),
  samples: z.int().min(100).max(200_000).default(10_000),
  validationFraction: fraction.default(0.1),
  testFraction: fraction.default(0.1),
  splitSeed,
});

export const spamAssassinDatasetSchema = z.strictObject({
  name: z.literal('spam-assassin'),
  sequenceLength: z.int().min(8).max(1_024).default(128),
  vocabSize: z.int().min(16).max(50_000).default(5_000),
  validationFraction: fraction.default(0.1),
  testFraction: fraction.default(0.1),
  splitSeed,
});

export const datasetSpecSchema = z.discriminatedUnion('name', [
  mnistDatasetSchema,
  syntheticImagesDatasetSchema,
  brownDatasetSchema,
  cmudictDatasetSchema,
  addingDatasetSchema,
  copyDatasetSchema,
  spamAssassinDatasetSchema,
]);

export const MODEL_FAMILIES = ['cnn', 'simple-rnn', 'lstm', 'gru', 'transformer', 'bert'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

const activation = z.enum(['relu', 'elu', 'selu', 'tanh', 'sigmoid', 'linear', 'gelu', 'swish']);
const dropout = z.number().min(0).max(0.9);

export const convBlockSchema = z.strictObject({
  filters: positiveInt(1024),
  kernelSize: positiveInt(15).default(3),
  strides: positiveInt(4).default(1),
  padding: z.enum(['same', 'valid']).default('valid'),
  activation: activation.default('relu'),
  pool: z.enum(['max', 'avg', 'none']).default('max'),
  poolSize: positiveInt(8).default(2),
  batchNorm: z.boolean().default(false),
  dropout: dropout.default(0),
});

export const cnnModelSchema = z.strictObject({
  family: z.literal('cnn'),
  /** Convolution blocks; an empty list makes a plain MLP (the shootout's baseline). */
  blocks: z
    .array(convBlockSchema)
    .min(0)
    .max(16)
    .default([
      { filters: 32, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu', pool: 'max', poolSize: 2, batchNorm: false, dropout: 0 },
      { filters: 64, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu', pool: 'max', poolSize: 2, batchNorm: false, dropout: 0 },
    ]),
  /** Hidden dense layers between the convolutions and the output layer. */
  denseUnits: z.array(positiveInt(8192)).max(8).default([128]),
  dropout: dropout.default(0.25),
  /** Token embedding width when the CNN runs 1-D over a token sequence. */
  embeddingDim: positiveInt(1024).default(64),
});

const recurrentFields = {
  embeddingDim: positiveInt(1024).default(64),
  units: positiveInt(2048).default(128),
  layers: positiveInt(8).default(1),
  bidirectional: z.boolean().default(false),
  dropout: dropout.default(0),
  /** Attention over encoder states in encoder-decoder (sequence-to-sequence) tasks. */
  attention: z.boolean().default(true),
  /**
   * Gate activation of LSTM and GRU cells (simple-rnn has no gates and ignores it). `sigmoid`
   * is what PyTorch and Keras use; tfjs-layers defaults to the cheaper piecewise-linear
   * `hardSigmoid`, whose gradient is 0 outside [-2.5, 2.5] and which learns language models
   * markedly worse (see docs/shootout.md).
   */
  recurrentActivation: z.enum(['sigmoid', 'hardSigmoid']).default('sigmoid'),
};

export const simpleRnnModelSchema = z.strictObject({ family: z.literal('simple-rnn'), ...recurrentFields });
export const lstmModelSchema = z.strictObject({ family: z.literal('lstm'), ...recurrentFields });
export const gruModelSchema = z.strictObject({ family: z.literal('gru'), ...recurrentFields });

const transformerFields = {
  dModel: positiveInt(2048).default(128),
  heads: positiveInt(32).default(4),
  ffDim: positiveInt(8192).default(256),
  dropout: dropout.default(0.1),
  positional: z.enum(['sinusoidal', 'learned']).default('sinusoidal'),
  /** Layer norm before (pre) or after (post) each residual block. */
  norm: z.enum(['pre', 'post']).default('post'),
};

export const transformerModelSchema = z.strictObject({
  family: z.literal('transformer'),
  ...transformerFields,
  encoderLayers: z.int().min(0).max(24).default(2),
  decoderLayers: z.int().min(0).max(24).default(2),
});

export const bertModelSchema = z.strictObject({
  family: z.literal('bert'),
  ...transformerFields,
  positional: z.enum(['sinusoidal', 'learned']).default('learned'),
  layers: positiveInt(24).default(2),
  /** Fraction of tokens masked in masked-language-model pretraining. */
  maskRate: z.number().min(0.01).max(0.5).default(0.15),
  /** Fine-tune from this completed pretraining experiment's final checkpoint. */
  pretrainedFrom: z.uuid().optional(),
});

export const modelSpecSchema = z.discriminatedUnion('family', [
  cnnModelSchema,
  simpleRnnModelSchema,
  lstmModelSchema,
  gruModelSchema,
  transformerModelSchema,
  bertModelSchema,
]);

/** `webgpu`: @tensorflow/tfjs-backend-webgpu on Dawn (the `webgpu` package): Vulkan, Metal or D3D12. */
export const BACKEND_NAMES = ['webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const backendRequestSchema = z.enum(['auto', ...BACKEND_NAMES]);
export type BackendRequest = z.infer<typeof backendRequestSchema>;

/**
 * Resumable checkpoints kept per experiment: the `latest` newest (at least one, to resume from)
 * plus the `best` epoch checkpoints by the validation `metric` (lower is better for the
 * LOWER_IS_BETTER_METRICS, higher otherwise). The default keeps today's two newest.
 */
export const keepCheckpointsSchema = z.strictObject({
  latest: positiveInt(1_000).default(2),
  best: z.int().min(0).max(1_000).default(0),
  metric: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a metric name such as loss or accuracy').max(64).default('loss'),
});

/** Metrics where smaller is better (the leaderboard's default order uses the same list). */
export const LOWER_IS_BETTER_METRICS: readonly string[] = ['loss', 'perplexity', 'mse', 'phonemeErrorRate', 'tokenErrorRate'];

/** Whether a smaller value of a metric is better. */
export function metricLowerIsBetter(metric: string): boolean {
  return LOWER_IS_BETTER_METRICS.includes(metric);
}

export const trainingSpecSchema = z.strictObject({
  epochs: positiveInt(1_000).default(5),
  /** Stop after this many optimizer steps even if epochs remain. */
  maxSteps: positiveInt(10_000_000).optional(),
  /** Global batch size, split evenly across ranks. */
  batchSize: positiveInt(8_192).default(64),
  optimizer: z.enum(['adam', 'sgd', 'momentum', 'rmsprop']).default('adam'),
  learningRate: z.number().positive().max(10).default(1e-3),
  /** Data-parallel ranks; the worker's default (its cores, capped by config) when omitted. */
  ranks: positiveInt(64).optional(),
  seed: z.int().min(0).max(2 ** 31 - 1).default(42),
  backend: backendRequestSchema.default('auto'),
  /** Clip gradients by global norm (after the all-reduce). */
  clipNorm: z.number().positive().optional(),
  /** Micro-batches accumulated into one optimizer step. */
  accumulationSteps: positiveInt(1_024).default(1),
  /** Checkpoint every K steps (0: only at each epoch end). */
  checkpointEverySteps: z.int().min(0).max(10_000_000).default(0),
  /** Cap on evaluation samples per held-out evaluation (0: the whole split). */
  evalSamples: z.int().min(0).max(1_000_000).default(0),
  /**
   * The job's BullMQ priority: 1 runs first, 2,097,151 last. A job without one runs before every
   * prioritized job (BullMQ's rule). Scheduling only: never part of a run's configuration.
   */
  priority: z.int().min(1).max(2_097_151).optional(),
  /**
   * Automatic retries after a failed attempt (a transient error); absent: the deployment's
   * TFLEET_JOB_ATTEMPTS - 1. A retry resumes from the latest checkpoint. Scheduling only.
   */
  maxRestarts: z.int().min(0).max(99).optional(),
  /** Which checkpoints the API keeps as they arrive (the final one is always kept). Storage only. */
  keepCheckpoints: keepCheckpointsSchema.default(() => keepCheckpointsSchema.parse({})),
});

export const experimentSpecSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  dataset: datasetSpecSchema,
  model: modelSpecSchema,
  training: trainingSpecSchema.default(() => trainingSpecSchema.parse({})),
});

/** What a client sends: every defaulted field optional. */
export type ExperimentSpecInput = z.input<typeof experimentSpecSchema>;
/** A validated spec with every default filled in. */
export type ExperimentSpec = z.output<typeof experimentSpecSchema>;
export type DatasetSpec = ExperimentSpec['dataset'];
export type ModelSpec = ExperimentSpec['model'];
export type TrainingSpec = ExperimentSpec['training'];
export type ConvBlockSpec = z.output<typeof convBlockSchema>;
