import { rankTaskSchema, type RankTask } from '@tfleet/contracts';
import { z } from 'zod';
import {
  CollectiveAbortedError,
  CollectiveFailureError,
  GroupFailureReason,
  SharedGroupControl,
  SharedMemoryCollective,
  threadRankPayloadSchema,
  type ThreadRankMessage,
} from '@tfleet/parallel';
import { loadRankBody } from './load-rank-body';

/**
 * piscina entry of one thread rank: one long-lived task per thread that runs the rank body
 * to the end of the run. Reports go to the parent over the payload's MessagePort.
 */
export default async function runThreadRank(payload: unknown): Promise<unknown> {
  const parsed = threadRankPayloadSchema.safeParse(payload);
  if (!parsed.success) throw new Error(`invalid thread rank payload: ${z.prettifyError(parsed.error)}`);
  const { task: rawTask, shared, reportPort, rankModule, rankModuleArgs } = parsed.data;
  const group = new SharedGroupControl(shared);
  let rank: number | null = null;
  try {
    const task = parseTask(rawTask);
    if (task.worldSize !== shared.worldSize) {
      throw new Error(`task.worldSize is ${task.worldSize} but the shared collective was built for ${shared.worldSize} ranks`);
    }
    rank = task.rank;
    const collective = new SharedMemoryCollective(shared, task.rank);
    const body = await loadRankBody(rankModule);
    const post = (message: ThreadRankMessage) => reportPort.postMessage(message);
    const result = await body(task, collective, (report) => post({ type: 'report', report }), rankModuleArgs);
    post({ type: 'end' });
    return result;
  } catch (error) {
    // Wake the other ranks at once rather than at their barrier timeout. Collective errors
    // were recorded by whoever detected them.
    const recorded = error instanceof CollectiveAbortedError || error instanceof CollectiveFailureError;
    if (!recorded && rank !== null) group.abort(GroupFailureReason.Threw, rank, rank);
    throw error;
  } finally {
    reportPort.close();
  }
}

function parseTask(raw: unknown): RankTask {
  const parsed = rankTaskSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid rank task: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
