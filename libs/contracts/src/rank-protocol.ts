import { z } from 'zod';
import { BACKEND_NAMES, experimentSpecSchema } from './experiment-spec';
import { checkpointPayloadSchema, divergenceFields, epochResultFields, runResultFields, trainingProgressSchema } from './queue';

/**
 * Messages between a worker process and its training ranks (worker threads or child
 * processes). Ranks never open the database or Redis: they get a task and report back.
 * Both directions are validated on receipt, as at every other boundary.
 */
export const rankTaskSchema = z.strictObject({
  experimentId: z.uuid(),
  attempt: z.int().min(1),
  spec: experimentSpecSchema,
  rank: z.int().min(0),
  worldSize: z.int().min(1),
  backend: z.enum(BACKEND_NAMES),
  /** Continue from this checkpoint instead of fresh weights. */
  resumeFrom: checkpointPayloadSchema.optional(),
  /** Pretrained encoder to start from (BERT fine-tuning). */
  pretrained: checkpointPayloadSchema.optional(),
  /**
   * Test hook (TFLEET_TEST_STALL_AT_STEP, validated in libs/config; never set in production):
   * every rank blocks for good before this step, to test the step timeout.
   */
  testStallAtStep: z.int().min(0).optional(),
});
export type RankTask = z.infer<typeof rankTaskSchema>;

export const rankReportSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('ready'),
    rank: z.int().min(0),
    paramCount: z.int().min(0),
    backend: z.enum(BACKEND_NAMES),
    device: z.string(),
    tfjsVersion: z.string(),
  }),
  z.strictObject({ kind: z.literal('progress'), progress: trainingProgressSchema }),
  z.strictObject({ kind: z.literal('epoch'), ...epochResultFields }),
  z.strictObject({ kind: z.literal('checkpoint'), checkpoint: checkpointPayloadSchema }),
  z.strictObject({ kind: z.literal('completed'), ...runResultFields }),
  z.strictObject({ kind: z.literal('cancelled'), step: z.int().min(0) }),
  z.strictObject({ kind: z.literal('diverged'), ...divergenceFields }),
  /** Rank 0's tfjs engine after the run freed its model: what a leak would leave behind. */
  z.strictObject({ kind: z.literal('memory'), tensors: z.int().min(0), bytes: z.int().min(0) }),
]);
export type RankReport = z.infer<typeof rankReportSchema>;
