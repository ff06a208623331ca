import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { type ExperimentSpec, experimentSpecSchema } from '@tfleet/contracts';
import { buildModel, createOptimizer, loadDataset, perSampleLoss, type TaskInfo } from '@tfleet/ml';
import { randomBatch } from '@tfleet/testing';
import type { Workload } from './workloads';

/** Reads and validates an experiment spec file, as the API would. */
export function readSpec(file: string): ExperimentSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`--spec ${file}: cannot read JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = experimentSpecSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`--spec ${file}: invalid experiment spec: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * Any spec the API accepts, as a bench workload: the model-zoo model, the spec's optimizer and
 * batch size, the task's loss, and one random batch in the task's layout (the dataset is
 * loaded only for its shapes and vocabularies, unless `options.info` already holds them).
 */
export function specWorkload(spec: ExperimentSpec, options: { info?: TaskInfo; name?: string } = {}): Workload {
  const info = options.info ?? loadDataset(spec.dataset);
  const model = buildModel(spec.model, info, spec.training.seed);
  const batchSize = spec.training.batchSize;
  return {
    name: options.name ?? `spec:${spec.model.family}`,
    model,
    globalBatch: batchSize,
    makeBatch(batch, seed) {
      const b = randomBatch(info, batch, seed);
      return { inputs: b.inputs, labels: b.target };
    },
    loss: (output, target) => tf.sum(perSampleLoss(info, output, target)) as tf.Scalar,
    makeOptimizer: () => createOptimizer(spec.training),
  };
}
