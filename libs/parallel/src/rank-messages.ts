import { MessagePort } from 'node:worker_threads';
import { isFloat32Array } from 'node:util/types';
import { z } from 'zod';
import { sharedCollectiveStateSchema } from './shared-memory-collective';

/**
 * Messages between a {@link RankGroup} and its ranks. The task itself is validated separately
 * with `rankTaskSchema` by the rank, and reports with `rankReportSchema` by the parent.
 */

/** The piscina task that starts one thread rank. */
export const threadRankPayloadSchema = z.strictObject({
  task: z.unknown(),
  shared: sharedCollectiveStateSchema,
  reportPort: z.instanceof(MessagePort),
  /** Absolute path of a compiled module exporting `runRank`; null for the training loop. */
  rankModule: z.string().min(1).nullable(),
  rankModuleArgs: z.unknown(),
});
export type ThreadRankPayload = z.infer<typeof threadRankPayloadSchema>;

/** Thread rank -> parent, over the payload's report port. */
export const threadRankMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('report'), report: z.unknown() }),
  /** Last message of a rank that finished: nothing on the port is still in flight. */
  z.strictObject({ type: z.literal('end') }),
]);
export type ThreadRankMessage = z.infer<typeof threadRankMessageSchema>;

/**
 * Any Float32Array. Checked without `instanceof`: a deserialized message may come from another
 * realm (a test sandbox's globals differ from the ones IPC builds arrays with).
 */
const float32ArraySchema = z.custom<Float32Array>((value) => isFloat32Array(value), { message: 'expected a Float32Array' });

const COLLECTIVE_OPS = ['all-reduce', 'broadcast'] as const;
export type CollectiveOp = (typeof COLLECTIVE_OPS)[number];

/** Process rank -> parent, over the IPC channel (advanced serialization: typed arrays as binary). */
export const processRankMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('collective'),
    op: z.enum(COLLECTIVE_OPS),
    seq: z.int().min(1),
    /** Broadcast root; -1 for all-reduce. */
    root: z.int().min(-1),
    length: z.int().min(0),
    /** Null for a broadcast receiver, which has nothing to send. */
    data: float32ArraySchema.nullable(),
  }),
  z.strictObject({ type: z.literal('report'), report: z.unknown() }),
  z.strictObject({ type: z.literal('done'), result: z.unknown() }),
  z.strictObject({ type: z.literal('failed'), message: z.string(), stack: z.string().optional() }),
]);
export type ProcessRankMessage = z.infer<typeof processRankMessageSchema>;
export type CollectiveRequest = Extract<ProcessRankMessage, { type: 'collective' }>;

/** Parent -> process rank. */
export const processParentMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('start'),
    task: z.unknown(),
    rankModule: z.string().min(1).nullable(),
    rankModuleArgs: z.unknown(),
  }),
  z.strictObject({
    type: z.literal('collective-result'),
    seq: z.int().min(1),
    /** Null for the broadcast root, which already holds the data. */
    data: float32ArraySchema.nullable(),
    /** The stop request as of this operation: every rank gets the same value. */
    stop: z.boolean(),
  }),
  z.strictObject({ type: z.literal('abort'), message: z.string() }),
  /** Cooperative stop; ranks of a larger group agree on it through `collective-result.stop`. */
  z.strictObject({ type: z.literal('stop') }),
]);
export type ProcessParentMessage = z.infer<typeof processParentMessageSchema>;
