import { z } from 'zod';
import { type DatasetName, experimentSpecSchema } from './experiment-spec';
import { checkpointPayloadSchema } from './queue';

/*
 * What `POST /api/experiments/:id/predict` accepts and answers, per kind of input. The kind
 * follows from the experiment's data set (an image set takes an image, brown a prompt, ...).
 * Shapes that depend on the trained model (an image's size, a sequence's length) are checked
 * against the model by the prediction thread, which answers with what it expected.
 */

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const predictInputSchemas = {
  /** An image as rows of pixels in [0, 1] (MNIST: 28 rows of 28); [H][W][C] for colour sets. */
  image: z.strictObject({
    image: z.array(z.array(z.union([finite, z.array(finite).min(1).max(4)])).min(1).max(256)).min(1).max(256),
  }),
  /** A text prompt whose next words (or characters, on a character-level model) are wanted. */
  prompt: z.strictObject({
    prompt: z.string().min(1).max(10_000),
    count: z.int().min(1).max(100).default(5),
  }),
  /** A word spelled in letters, for its pronunciation. */
  word: z.strictObject({ word: z.string().min(1).max(100) }),
  /** Token ids to copy (the copy task's symbols). */
  tokens: z.strictObject({ tokens: z.array(z.int().min(0)).min(1).max(1_000) }),
  /** A text (an e-mail body, with an optional subject) to label. */
  text: z.strictObject({ text: z.string().min(1).max(200_000), subject: z.string().max(1_000).optional() }),
  /** A sequence of steps, each a list of features (adding: [value, marker]). */
  sequence: z.strictObject({ sequence: z.array(z.array(finite).min(1).max(64)).min(1).max(10_000) }),
} as const;

export type PredictInputKind = keyof typeof predictInputSchemas;

/** The kind of input each data set's models take. */
export const PREDICT_INPUT_KIND: Readonly<Record<DatasetName, PredictInputKind>> = {
  mnist: 'image',
  'synthetic-images': 'image',
  brown: 'prompt',
  cmudict: 'word',
  copy: 'tokens',
  'spam-assassin': 'text',
  adding: 'sequence',
};

/** An input after validation, tagged with its kind. */
export const predictInputSchema = z.discriminatedUnion('kind', [
  predictInputSchemas.image.extend({ kind: z.literal('image') }),
  predictInputSchemas.prompt.extend({ kind: z.literal('prompt') }),
  predictInputSchemas.word.extend({ kind: z.literal('word') }),
  predictInputSchemas.tokens.extend({ kind: z.literal('tokens') }),
  predictInputSchemas.text.extend({ kind: z.literal('text') }),
  predictInputSchemas.sequence.extend({ kind: z.literal('sequence') }),
]);
export type PredictInput = z.infer<typeof predictInputSchema>;

export const predictionSchema = z.discriminatedUnion('kind', [
  /** Classes by probability, highest first (`label` is the class's name where the set has names). */
  z.strictObject({
    kind: z.literal('classes'),
    label: z.string(),
    probabilities: z.array(z.strictObject({ label: z.string(), probability: z.number() })),
  }),
  /** Greedy continuation of a prompt. */
  z.strictObject({ kind: z.literal('continuation'), next: z.array(z.string()), text: z.string() }),
  /** Greedy decoding of a sequence-to-sequence model. */
  z.strictObject({ kind: z.literal('sequence'), output: z.array(z.union([z.string(), z.int()])) }),
  z.strictObject({ kind: z.literal('value'), value: z.number() }),
]);
export type Prediction = z.infer<typeof predictionSchema>;

/**
 * API thread -> prediction thread. The checkpoint travels only when the thread answered that
 * it does not hold the model (`needs-model`): threads never open the database.
 */
export const predictRequestSchema = z.strictObject({
  /** Names the trained model (experiment and checkpoint step); the thread's cache key. */
  modelKey: z.string().min(1).max(200),
  spec: experimentSpecSchema,
  input: predictInputSchema,
  checkpoint: checkpointPayloadSchema.optional(),
});
export type PredictRequest = z.infer<typeof predictRequestSchema>;

export const predictReplySchema = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('ok'), prediction: predictionSchema, modelLoadMs: z.number().min(0).nullable() }),
  z.strictObject({ status: z.literal('needs-model') }),
  /** The input does not fit the model: `field` and what was expected. */
  z.strictObject({ status: z.literal('invalid'), field: z.string(), message: z.string() }),
]);
export type PredictReply = z.infer<typeof predictReplySchema>;
