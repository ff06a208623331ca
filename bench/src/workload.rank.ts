import * as tf from '@tensorflow/tfjs';
import type { RankTask } from '@tfleet/contracts';
import { initBackend, shardRange, Trainer } from '@tfleet/ml';
import type { Collective } from '@tfleet/parallel';
import { z } from 'zod';
import { readSpec, specWorkload } from './spec-workload';
import { ANY_WORKLOAD_NAMES, buildWorkload, summedSoftmaxCrossEntropy } from './workloads';

/*
 * Rank body of `npm run bench -- --ranks N`: every rank builds the same workload, takes its
 * shard of the global batch and trains it with the project's Trainer over the group's real
 * collective, so the figure includes the all-reduce exactly as a training run pays it.
 */

const workloadRankArgsSchema = z.strictObject({
  /** A reference workload name, or 'spec' with `specFile`. */
  workload: z.union([z.enum(ANY_WORKLOAD_NAMES), z.literal('spec')]),
  specFile: z.string().nullable(),
  seconds: z.number().positive(),
  warmupSteps: z.int().min(0),
  /** Keep warming up until this many seconds have passed as well (rank 0's clock decides). */
  warmupSeconds: z.number().min(0),
  /** Multiplies the workload's global batch. */
  batchScale: z.int().min(1).default(1),
});
export type WorkloadRankArgs = z.infer<typeof workloadRankArgsSchema>;

export const workloadRankResultSchema = z.strictObject({
  rank: z.int().min(0),
  localBatch: z.int().min(0),
  steps: z.int().min(0),
  elapsedMs: z.number().min(0),
  computeMs: z.number().min(0),
  allReduceMs: z.number().min(0),
  /** Part of allReduceMs spent waiting at barriers for the other ranks. */
  allReduceWaitMs: z.number().min(0),
  applyMs: z.number().min(0),
  /** CPU time of the whole process (every thread: ranks, V8's helpers) over the timed steps. */
  cpuMs: z.number().min(0).optional(),
  backend: z.string(),
  device: z.string(),
  tfjsVersion: z.string(),
});
export type WorkloadRankResult = z.infer<typeof workloadRankResultSchema>;

export async function runRank(task: RankTask, collective: Collective, _report: unknown, rawArgs: unknown): Promise<WorkloadRankResult> {
  const args = workloadRankArgsSchema.parse(rawArgs);
  const info = await initBackend(task.backend);
  const workload = args.workload === 'spec' ? specWorkload(readSpec(args.specFile ?? '')) : buildWorkload(args.workload);
  const globalBatch = workload.globalBatch * args.batchScale;
  const { start, end } = shardRange(globalBatch, task.rank, task.worldSize);
  const localBatch = end - start;
  // Each rank draws its own shard; the loss is scaled by the global batch as in training.
  const data = workload.makeBatch(localBatch, 1 + task.rank);
  const optimizer = workload.makeOptimizer ? workload.makeOptimizer() : tf.train.adam(1e-3);
  const loss = workload.loss ?? summedSoftmaxCrossEntropy();
  const trainer = new Trainer({ model: workload.model, optimizer, loss, collective });
  const scale = 1 / globalBatch;
  try {
    // Rank 0 decides when a phase ends; its vote travels with the gradients, so every rank
    // stops after the same step (a rank reading its own clock could leave the others waiting).
    const trainUntil = async (rank0Done: (steps: number, elapsedMs: number) => boolean): Promise<number> => {
      const phaseStarted = performance.now();
      for (let steps = 1; ; steps++) {
        trainer.accumulate(data.inputs, data.labels, scale);
        const vote = task.rank === 0 && rank0Done(steps, performance.now() - phaseStarted);
        if ((await trainer.apply(vote)).stop) return steps;
      }
    };
    await trainUntil((steps, ms) => steps >= args.warmupSteps && ms >= args.warmupSeconds * 1000);
    trainer.takeTimings();
    collective.takeTimings();
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const steps = await trainUntil((_steps, ms) => ms >= args.seconds * 1000);
    const elapsedMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuStarted);
    const t = trainer.takeTimings();
    const c = collective.takeTimings();
    return {
      rank: task.rank,
      localBatch,
      steps,
      elapsedMs,
      computeMs: t.computeMs,
      allReduceMs: t.allReduceMs,
      allReduceWaitMs: c.waitMs ?? 0,
      applyMs: t.applyMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      backend: info.backend,
      device: info.device,
      tfjsVersion: info.tfjsVersion,
    };
  } finally {
    optimizer.dispose();
    tf.dispose([...data.inputs, data.labels]);
    workload.model.dispose();
  }
}
