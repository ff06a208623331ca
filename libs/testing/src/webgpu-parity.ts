import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, TaskKind } from '@tfleet/contracts';
import { buildModel, type TaskInfo, webgpuBufferCounts } from '@tfleet/ml';
import { disposeBatch, randomBatch, taskLoss, tinyTaskInfo } from './models.util';

/*
 * The same few training steps of a tiny model of each family on two backends (webgpu against
 * wasm): used by the webgpu tests and by `npm run gpu-check`. Plain SGD, so a gradient that
 * differs by float rounding moves a weight by as little (Adam's first steps are about
 * lr * sign(g) and would turn a 1e-9 difference on a zero gradient into 2 * lr).
 */

export interface ParityCase {
  name: string;
  task: TaskKind;
  spec: ModelSpec;
}

const block = { filters: 4, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu', pool: 'max', poolSize: 2, batchNorm: false, dropout: 0 } as const;
const recurrent = { embeddingDim: 6, units: 8, layers: 1, bidirectional: false, dropout: 0, attention: true, recurrentActivation: 'sigmoid' } as const;
const attention = { dModel: 8, heads: 2, ffDim: 16, dropout: 0, norm: 'post' } as const;

/** One tiny model per family, on a task that exercises its distinctive layers. */
export const PARITY_CASES: readonly ParityCase[] = [
  { name: 'cnn', task: 'image-classification', spec: { family: 'cnn', blocks: [block, { ...block, filters: 6, batchNorm: true, pool: 'avg', padding: 'same' }], denseUnits: [8], dropout: 0, embeddingDim: 6 } },
  { name: 'simple-rnn', task: 'sequence-classification', spec: { family: 'simple-rnn', ...recurrent, bidirectional: true } },
  { name: 'lstm', task: 'seq2seq', spec: { family: 'lstm', ...recurrent } },
  { name: 'gru', task: 'language-modelling', spec: { family: 'gru', ...recurrent, layers: 2 } },
  { name: 'transformer', task: 'seq2seq', spec: { family: 'transformer', ...attention, positional: 'sinusoidal', encoderLayers: 1, decoderLayers: 1 } },
  { name: 'bert', task: 'language-modelling', spec: { family: 'bert', ...attention, positional: 'learned', layers: 1, maskRate: 0.15 } },
];

export interface StepsResult {
  backend: string;
  /** Training loss of each step (before that step's update). */
  losses: number[];
  /** Every weight after the last step, in model.getWeights() order. */
  weights: Float32Array[];
  /** The weights the run started from (to start the other backend from the same point). */
  initial: Float32Array[];
  /** tf.memory().numTensors after the run minus before it. */
  leakedTensors: number;
  /** webgpu: GPU buffers in use after the run minus before it. */
  leakedBuffers: number | null;
  wallMs: number;
}

export interface TrainStepsOptions {
  steps?: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  /** Start from these weights instead of the seeded initialisation. */
  initial?: readonly Float32Array[];
}

/**
 * Builds the case's model on `backend` (which must be initialised), runs `steps` SGD steps on
 * one random batch, and reads everything back; all tensors it made are disposed.
 */
export async function trainStepsOn(backend: string, testCase: ParityCase, options: TrainStepsOptions = {}): Promise<StepsResult> {
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
  const { steps = 3, batchSize = 4, learningRate = 0.1, seed = 7 } = options;
  const info: TaskInfo = tinyTaskInfo(testCase.task);
  const started = performance.now();
  const tensorsBefore = tf.memory().numTensors;
  const buffersBefore = backend === 'webgpu' ? settledBuffers() : null;

  const model = buildModel(testCase.spec, info, seed);
  const initial = model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
  if (options.initial) {
    const values = model.getWeights().map((w, i) => tf.tensor(options.initial![i], w.shape, w.dtype));
    model.setWeights(values);
    tf.dispose(values);
  }
  const batch = randomBatch(info, batchSize, seed + 4);
  const optimizer = tf.train.sgd(learningRate);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { value, grads } = tf.variableGrads(() => taskLoss(info, model.apply(batch.inputs, { training: true }) as tf.Tensor, batch.target));
    optimizer.applyGradients(grads);
    losses.push((await value.data())[0]);
    value.dispose();
    tf.dispose(grads);
  }
  const weights = await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
  optimizer.dispose();
  disposeBatch(batch);
  model.dispose();

  const leakedTensors = tf.memory().numTensors - tensorsBefore;
  const leakedBuffers = buffersBefore === null ? null : settledBuffers() - buffersBefore;
  return { backend, losses, weights, initial, leakedTensors, leakedBuffers, wallMs: performance.now() - started };
}

/**
 * GPU buffers in use once queued work has run: the webgpu backend releases a disposed tensor's
 * buffer only after the command queue that used it is submitted, which a read-back forces.
 */
function settledBuffers(): number {
  const probe = tf.scalar(0);
  probe.dataSync();
  probe.dispose();
  return webgpuBufferCounts().usedBuffers;
}

export interface ParityComparison {
  /** Largest |a - b| / max(1, |a|) over the step losses. */
  lossRelativeDifference: number;
  /** Largest |a - b| over every weight after the last step. */
  weightAbsoluteDifference: number;
  /** Largest |change| of any weight on the reference backend (how far training moved them). */
  weightChange: number;
}

export function compareRuns(reference: StepsResult, other: StepsResult): ParityComparison {
  let loss = 0;
  reference.losses.forEach((a, i) => {
    loss = Math.max(loss, Math.abs(a - other.losses[i]) / Math.max(1, Math.abs(a)));
  });
  if (reference.losses.some((l) => !Number.isFinite(l)) || other.losses.some((l) => !Number.isFinite(l))) loss = Number.POSITIVE_INFINITY;
  let weight = 0;
  let change = 0;
  reference.weights.forEach((w, i) => {
    const o = other.weights[i];
    const start = reference.initial[i];
    for (let j = 0; j < w.length; j++) {
      const d = Math.abs(w[j] - o[j]);
      weight = Math.max(weight, Number.isNaN(d) ? Number.POSITIVE_INFINITY : d);
      change = Math.max(change, Math.abs(w[j] - start[j]));
    }
  });
  return { lossRelativeDifference: loss, weightAbsoluteDifference: weight, weightChange: change };
}
