import { rankTaskSchema } from '@tfleet/contracts';
import { z } from 'zod';
import {
  errorMessage,
  ProcessCollective,
  processParentMessageSchema,
  type ProcessParentMessage,
  type ProcessRankMessage,
} from '@tfleet/parallel';
import { loadRankBody } from './load-rank-body';

/**
 * Entry of one rank run as a child process (`child_process.fork` with advanced serialization),
 * for native backends that load in one thread per process. The parent sends `start` with the
 * task, then answers collective operations; the rank ends with `done` or `failed`, then exits.
 */

type StartMessage = Extract<ProcessParentMessage, { type: 'start' }>;

let collective: ProcessCollective | null = null;
let started = false;
let stopBeforeStart = false;
let finishing = false;

function send(message: ProcessRankMessage): void {
  if (!process.send) throw new Error('train-rank.process must be started with child_process.fork');
  process.send(message);
}

function finish(message: ProcessRankMessage, code: number): void {
  if (finishing) return;
  finishing = true;
  if (!process.connected || !process.send) process.exit(code);
  try {
    // Exit only once the last message is handed to the channel, so the parent gets it.
    process.send(message, () => process.exit(code));
  } catch (error) {
    // e.g. a result that cannot be serialized: report that instead.
    if (message.type === 'failed') process.exit(code);
    finishing = false;
    finishWithFailure(new Error(`rank could not send its ${message.type} message: ${errorMessage(error)}`));
  }
}

function finishWithFailure(error: unknown): void {
  const stack = error instanceof Error ? error.stack : undefined;
  finish({ type: 'failed', message: errorMessage(error), ...(stack ? { stack } : {}) }, 1);
}

async function runRank(start: StartMessage): Promise<void> {
  const parsed = rankTaskSchema.safeParse(start.task);
  if (!parsed.success) throw new Error(`invalid rank task: ${z.prettifyError(parsed.error)}`);
  const task = parsed.data;
  collective = new ProcessCollective(task.rank, task.worldSize, send);
  if (stopBeforeStart) collective.requestStop();
  const body = await loadRankBody(start.rankModule);
  const result = await body(task, collective, (report) => send({ type: 'report', report }), start.rankModuleArgs);
  finish({ type: 'done', result }, 0);
}

function onParentMessage(raw: unknown): void {
  const parsed = processParentMessageSchema.safeParse(raw);
  if (!parsed.success) return finishWithFailure(new Error(`invalid message from parent: ${z.prettifyError(parsed.error)}`));
  const message = parsed.data;
  switch (message.type) {
    case 'start':
      if (started) return finishWithFailure(new Error('rank got a second start message'));
      started = true;
      runRank(message).catch(finishWithFailure);
      return;
    case 'collective-result':
      if (!collective) return finishWithFailure(new Error('rank got a collective result before it started'));
      collective.receive(message);
      return;
    case 'abort':
      if (collective) collective.abort(message.message);
      else process.exit(1);
      return;
    case 'stop':
      if (collective) collective.requestStop();
      else stopBeforeStart = true;
      return;
  }
}

if (!process.send) throw new Error('train-rank.process must be started with child_process.fork');
process.on('message', onParentMessage);
// A rank never outlives its parent.
process.on('disconnect', () => process.exit(1));
process.on('uncaughtException', finishWithFailure);
process.on('unhandledRejection', finishWithFailure);
