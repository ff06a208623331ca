import * as tf from '@tensorflow/tfjs';
import type { CheckpointPayload, RankReport, RankTask } from '@tfleet/contracts';
import { initBackend } from '../backend/backend';
import { type DataSplit, sampleSize, type TaskData } from '../data/dataset';
import { loadDataset } from '../data/load-dataset';
import { deriveSeed, SeededRandom } from '../data/rng';
import { evaluateDecoding } from '../evaluation/seq2seq-metrics';
import { buildBertClassifierFrom, maskedLanguageModelBatch } from '../models/bert';
import type { VocabularyJSON } from '../data/tokenizer';
import { buildModel, countParameters } from '../models/build-model';
import type { Collective } from '@tfleet/parallel';
import { type Batch, epochOrder, gatherBatch, shardRange } from './batches';
import { deserializeModel, restoreModelWeights, restoreOptimizer, serializeModel, serializeOptimizer } from './checkpoint';
import { EVAL_SUM_KEYS, type EvalSums, emptyEvalSums, evalBatchSums, metricsFromSums, perSampleLoss } from './objectives';
import { createOptimizer } from './optimizers';
import { Trainer } from './trainer';

export type ReportFn = (report: RankReport) => void;

/** Where a run stands; saved in every checkpoint so a resumed run continues exactly. */
export interface TrainingCursor {
  /** Epoch being trained (0-based). */
  epoch: number;
  /** Optimizer steps already taken in that epoch. */
  stepInEpoch: number;
  /** Optimizer steps taken in the whole run. */
  globalStep: number;
  /** Samples trained on so far and the training time they took, for throughput. */
  samplesSeen: number;
  trainMs: number;
}

const PROGRESS_INTERVAL_MS = 1_000;
const EVAL_BATCH = 256;
/** Test samples decoded free-running (greedy) for exact match and error rate on seq2seq tasks. */
const DECODE_SAMPLES = 500;
/** Salts for the masking RNG of evaluation batches (training uses the epoch). */
const VALIDATION_SALT = 0x7fff0001;
const TEST_SALT = 0x7fff0002;
/** Steps between parameter checksums across ranks (a replica that drifted fails the run). */
const DRIFT_CHECK_EVERY = 50;

type MakeBatch = (split: DataSplit, indices: ArrayLike<number>, salt: number) => Batch;

/**
 * One data-parallel rank of one experiment: builds the data and the model, keeps its replica
 * in lockstep with the others through `collective`, and (on rank 0) reports progress, epoch
 * metrics, checkpoints and the final result. Runs the same on threads, processes or alone.
 */
export async function runTrainingRank(task: RankTask, collective: Collective, report: ReportFn): Promise<void> {
  const backend = await initBackend(task.backend);
  const { spec } = task;
  const training = spec.training;
  const isLead = collective.rank === 0;
  const data = loadDataset(spec.dataset, task.pretrained ? { vocabulary: pretrainedVocabulary(task.pretrained) } : {});
  const model = task.pretrained ? await fineTuningModel(task.pretrained, data, training.seed) : buildModel(spec.model, data, training.seed);
  const optimizer = createOptimizer(training);
  const makeBatch = batchMaker(task, data);
  try {
    assertTargetsFitModel(data, model);
    const cursor: TrainingCursor = { epoch: 0, stepInEpoch: 0, globalStep: 0, samplesSeen: 0, trainMs: 0 };
    if (task.resumeFrom) await resume(task.resumeFrom, model, optimizer, cursor);
    await broadcastWeights(model, collective);

    const trainer = new Trainer({
      model,
      optimizer,
      loss: (output, target) => tf.sum(perSampleLoss(data, output, target)) as tf.Scalar,
      collective,
      clipNorm: training.clipNorm,
    });
    if (isLead) {
      report({ kind: 'ready', rank: 0, paramCount: countParameters(model), backend: backend.backend, device: backend.device, tfjsVersion: backend.tfjsVersion });
    }

    const globalBatch = training.batchSize;
    const stepsPerEpoch = Math.ceil(data.train.size / globalBatch);
    if (stepsPerEpoch === 0) throw new Error(`dataset '${data.datasetName}' has an empty training split`);
    const totalSteps = Math.min(training.maxSteps ?? Number.POSITIVE_INFINITY, training.epochs * stepsPerEpoch);
    const epochs = Math.ceil(totalSteps / stepsPerEpoch);
    let checkpointedAt = -1;
    const checkpoint = async (kind: CheckpointPayload['kind']): Promise<void> => {
      checkpointedAt = cursor.globalStep;
      if (isLead) report({ kind: 'checkpoint', checkpoint: await makeCheckpoint(kind, model, optimizer, cursor, data) });
    };

    let lossSinceReport = 0;
    let stepsSinceReport = 0;
    /** The loss of the last step whose loss was finite (null before the first). */
    let lastFiniteLoss: number | null = null;
    let lastReportAt = performance.now();
    while (cursor.epoch < epochs && cursor.globalStep < totalSteps) {
      const order = epochOrder(data.train.size, training.seed, cursor.epoch);
      const epochStartedAt = performance.now();
      const epochStartSamples = cursor.samplesSeen;
      let lossSum = 0;
      let lossSteps = 0;
      while (cursor.stepInEpoch < stepsPerEpoch && cursor.globalStep < totalSteps) {
        if (task.testStallAtStep === cursor.globalStep) stallForever();
        const stepStartedAt = performance.now();
        const from = cursor.stepInEpoch * globalBatch;
        const count = Math.min(globalBatch, data.train.size - from);
        const mine = shardRange(count, collective.rank, collective.worldSize);
        const micro = training.accumulationSteps;
        for (let m = 0; m < micro; m++) {
          const part = shardRange(mine.end - mine.start, m, micro);
          if (part.end === part.start) continue;
          const indices = order.subarray(from + mine.start + part.start, from + mine.start + part.end);
          const batch = makeBatch(data.train, indices, cursor.epoch);
          // Dropout masks by (seed, step, position in the global batch): the same on any
          // number of ranks or micro-batches, and again after a resume.
          const dropout = { seed: training.seed, step: cursor.globalStep, firstSample: mine.start + part.start, samples: part.end - part.start };
          try {
            trainer.accumulate(batch.inputs, batch.target, 1 / count, dropout);
          } finally {
            tf.dispose([...batch.inputs, batch.target]);
          }
        }
        const { loss, stop } = await trainer.apply(collective.stopRequested());
        cursor.stepInEpoch++;
        cursor.globalStep++;
        cursor.samplesSeen += count;
        cursor.trainMs += performance.now() - stepStartedAt;
        lossSum += loss;
        lossSteps++;
        lossSinceReport += loss;
        stepsSinceReport++;
        // The loss is the sum across ranks, so every rank sees the same value and stops here
        // together. It is read every step anyway (no extra sync): checking it costs nothing.
        if (!Number.isFinite(loss)) {
          if (isLead) report({ kind: 'diverged', step: cursor.globalStep, loss: Number.isNaN(loss) ? 'NaN' : loss > 0 ? 'Infinity' : '-Infinity', lastFiniteLoss });
          return;
        }
        lastFiniteLoss = loss;
        if (stop) {
          // A stopped run (a cancel, a worker's shutdown) can be continued from where it stopped.
          // Not at an epoch's last step: its evaluation would then run with no training loss.
          if (cursor.stepInEpoch < stepsPerEpoch && checkpointedAt !== cursor.globalStep) await checkpoint('periodic');
          if (isLead) report({ kind: 'cancelled', step: cursor.globalStep });
          return;
        }
        if (isLead && performance.now() - lastReportAt >= PROGRESS_INTERVAL_MS) {
          const timings = trainer.takeTimings();
          const stepMs = timings.computeMs + timings.allReduceMs + timings.applyMs;
          report({
            kind: 'progress',
            progress: {
              epoch: cursor.epoch + 1,
              epochs,
              step: cursor.globalStep,
              totalSteps,
              loss: lossSinceReport / stepsSinceReport,
              samplesPerSecond: throughput(cursor),
              ...(stepMs > 0 ? { allReduceShare: Math.min(1, timings.allReduceMs / stepMs) } : {}),
            },
          });
          lossSinceReport = 0;
          stepsSinceReport = 0;
          lastReportAt = performance.now();
        }
        if (collective.worldSize > 1 && cursor.globalStep % DRIFT_CHECK_EVERY === 0) await checkReplicasAgree(model, collective, cursor.globalStep);
        if (training.checkpointEverySteps > 0 && cursor.globalStep % training.checkpointEverySteps === 0 && cursor.stepInEpoch < stepsPerEpoch) {
          await checkpoint('periodic');
        }
      }
      const epochTrainMs = performance.now() - epochStartedAt;
      const finishedEpoch = cursor.epoch + 1;
      if (cursor.stepInEpoch >= stepsPerEpoch) {
        cursor.epoch++;
        cursor.stepInEpoch = 0;
      }
      const validation = await evaluate(model, data, data.validation, collective, training.evalSamples, (split, idx) => makeBatch(split, idx, VALIDATION_SALT));
      if (isLead) {
        report({
          kind: 'epoch',
          epoch: finishedEpoch,
          step: cursor.globalStep,
          train: { loss: lossSum / Math.max(lossSteps, 1) },
          validation,
          samplesPerSecond: epochTrainMs > 0 ? ((cursor.samplesSeen - epochStartSamples) * 1000) / epochTrainMs : 0,
          wallTimeMs: epochTrainMs,
        });
      }
      await checkpoint('epoch');
    }

    const test = await evaluate(model, data, data.test, collective, 0, (split, idx) => makeBatch(split, idx, TEST_SALT));
    // Free-running decoding needs no other rank: rank 0 does it after the last collective.
    if (isLead && data.task === 'seq2seq' && data.test.size > 0) Object.assign(test, await decodedTestMetrics(model, data));
    await checkpoint('final');
    if (isLead) {
      report({
        kind: 'completed',
        test,
        baselines: data.baselines(),
        steps: cursor.globalStep,
        epochs: cursor.epoch,
        samplesPerSecond: throughput(cursor),
        wallTimeMs: cursor.trainMs,
      });
    }
  } finally {
    model.dispose();
    optimizer.dispose();
    if (isLead) {
      const { numTensors, numBytes } = tf.memory();
      report({ kind: 'memory', tensors: numTensors, bytes: numBytes });
    }
  }
}

/**
 * A classifier that shares the pretrained encoder's layers. The layers only the loaded model
 * uses (the masked-LM head) are freed here; the shared ones go with the classifier.
 */
async function fineTuningModel(pretrained: CheckpointPayload, data: TaskData, seed: number): Promise<tf.LayersModel> {
  const loaded = await deserializeModel(pretrained.model);
  const classifier = buildBertClassifierFrom(loaded, data, seed);
  const shared = new Set(classifier.layers);
  for (const layer of loaded.layers) if (!shared.has(layer)) layer.dispose();
  return classifier;
}

/** The tokenizer vocabulary a pretraining run saved with its checkpoint. */
function pretrainedVocabulary(pretrained: CheckpointPayload): VocabularyJSON {
  const artifacts = pretrained.state['artifacts'] as { tokenizer?: { vocabulary?: VocabularyJSON } } | undefined;
  const vocabulary = artifacts?.tokenizer?.vocabulary;
  if (vocabulary === undefined) throw new Error('the pretrained checkpoint carries no tokenizer vocabulary');
  return vocabulary;
}

/**
 * Every class or token target of every split is a class id of the model's output, checked
 * once before the first step: a run on data that does not fit its model fails at once instead
 * of training on garbage (the loss refuses such a target too, but mid-step).
 */
export function assertTargetsFitModel(data: TaskData, model: tf.LayersModel): void {
  if (data.task === 'sequence-regression') return;
  const classes = model.outputs[0]!.shape.at(-1);
  if (typeof classes !== 'number') throw new Error('the model output has no known class dimension');
  for (const [name, split] of [['train', data.train], ['validation', data.validation], ['test', data.test]] as const) {
    const targets = split.target;
    for (let i = 0; i < targets.length; i++) {
      const v = targets[i]!;
      if (!(Number.isInteger(v) && v >= 0 && v < classes)) {
        throw new Error(`dataset '${data.datasetName}': ${name} target ${v} (value ${i}) is not a class id in [0, ${classes}) of the model's output`);
      }
    }
  }
}

/**
 * The step-timeout test hook (RankTask.testStallAtStep): the rank blocks its thread or process
 * for good, as a hung kernel would, without spinning a core. Only terminating it ends it.
 */
function stallForever(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

function throughput(cursor: TrainingCursor): number {
  return cursor.trainMs > 0 ? (cursor.samplesSeen * 1000) / cursor.trainMs : 0;
}

/**
 * How batches are made for a task. BERT on a language-modelling set pretrains with masked
 * language modelling: each sample is masked with an RNG seeded by (seed, salt, sample index),
 * so the masks do not depend on how a batch is split across ranks.
 */
function batchMaker(task: RankTask, data: TaskData): MakeBatch {
  const model = task.spec.model;
  if (model.family !== 'bert' || data.task !== 'language-modelling') {
    return (split, indices) => gatherBatch(split, data.inputSpecs, data.targetSpec, indices);
  }
  const width = sampleSize(data.inputSpecs[0]!);
  const seed = task.spec.training.seed;
  return (split, indices, salt) => {
    const tokens = new Int32Array(indices.length * width);
    const target = new Int32Array(indices.length * width);
    const source = split.inputs[0] as Int32Array;
    for (let i = 0; i < indices.length; i++) {
      const from = indices[i]! * width;
      const masked = maskedLanguageModelBatch(source.subarray(from, from + width), data, model.maskRate, new SeededRandom(deriveSeed(seed, salt, indices[i]!)));
      tokens.set(masked.inputs, i * width);
      target.set(masked.target, i * width);
    }
    return { inputs: [tf.tensor(tokens, [indices.length, width], 'int32')], target: tf.tensor(target, [indices.length, width], 'int32') };
  };
}

async function decodedTestMetrics(model: tf.LayersModel, data: TaskData): Promise<Record<string, number>> {
  const decoded = await evaluateDecoding(model, data, data.test, { limit: DECODE_SAMPLES });
  const metrics: Record<string, number> = { exactMatch: decoded.exactMatch, decodedTokenAccuracy: decoded.decodedTokenAccuracy };
  metrics[data.datasetName === 'cmudict' ? 'phonemeErrorRate' : 'tokenErrorRate'] = decoded.phonemeErrorRate;
  return metrics;
}

/** Every rank evaluates its share of the split; the sums are added up across ranks. */
async function evaluate(
  model: tf.LayersModel,
  data: TaskData,
  split: DataSplit,
  collective: Collective,
  cap: number,
  makeBatch: (split: DataSplit, indices: ArrayLike<number>) => Batch,
): Promise<Record<string, number>> {
  const size = cap > 0 ? Math.min(cap, split.size) : split.size;
  const { start, end } = shardRange(size, collective.rank, collective.worldSize);
  const sums = emptyEvalSums();
  for (let from = start; from < end; from += EVAL_BATCH) {
    const indices = new Int32Array(Math.min(EVAL_BATCH, end - from)).map((_, i) => from + i);
    const batch = makeBatch(split, indices);
    // The tidy also catches intermediates some layers leave behind in inference (a
    // recurrent layer on float inputs leaked one tensor per call).
    const output = tf.tidy(() => model.apply(batch.inputs.length === 1 ? batch.inputs[0]! : batch.inputs, { training: false }) as tf.Tensor);
    let batchSums: EvalSums;
    try {
      batchSums = await evalBatchSums(data, output, batch.target);
    } finally {
      tf.dispose([output, ...batch.inputs, batch.target]);
    }
    for (const key of EVAL_SUM_KEYS) sums[key] += batchSums[key];
  }
  const flat = Float32Array.from(EVAL_SUM_KEYS.map((key) => sums[key]));
  await collective.allReduceSum(flat);
  const total = Object.fromEntries(EVAL_SUM_KEYS.map((key, i) => [key, flat[i]!])) as unknown as EvalSums;
  return metricsFromSums(data, total);
}

/**
 * Every rank puts a checksum of its trainable parameters in its own slot; after the sum every
 * rank sees all of them. Replicas that apply identical updates agree bit for bit, so any
 * difference means one has drifted, and the run must not go on silently.
 */
async function checkReplicasAgree(model: tf.LayersModel, collective: Collective, step: number): Promise<void> {
  let sum = 0;
  let weighted = 0;
  for (const w of model.trainableWeights) {
    const values = await w.read().data();
    for (let i = 0; i < values.length; i++) {
      sum += values[i]!;
      weighted += values[i]! * ((i % 7) + 1);
    }
  }
  const slots = new Float32Array(collective.worldSize * 2);
  slots[collective.rank * 2] = sum;
  slots[collective.rank * 2 + 1] = weighted;
  await collective.allReduceSum(slots);
  for (let r = 1; r < collective.worldSize; r++) {
    if (slots[r * 2] !== slots[0] || slots[r * 2 + 1] !== slots[1]) {
      throw new Error(`parameter drift at step ${step}: rank ${r}'s parameter checksum (${slots[r * 2]}) differs from rank 0's (${slots[0]})`);
    }
  }
}

/** Rank 0's weights (trainable and not) become every rank's. */
async function broadcastWeights(model: tf.LayersModel, collective: Collective): Promise<void> {
  if (collective.worldSize === 1) return;
  const weights = model.getWeights();
  const total = weights.reduce((sum, w) => sum + w.size, 0);
  const flat = new Float32Array(total);
  let offset = 0;
  for (const w of weights) {
    flat.set((await w.data()) as Float32Array, offset);
    offset += w.size;
  }
  await collective.broadcast(flat, 0);
  offset = 0;
  const replaced = weights.map((w) => {
    const t = tf.tensor(flat.subarray(offset, offset + w.size), w.shape, 'float32');
    offset += w.size;
    return t;
  });
  model.setWeights(replaced);
  tf.dispose(replaced);
}

async function makeCheckpoint(
  kind: CheckpointPayload['kind'],
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  cursor: TrainingCursor,
  data: TaskData,
): Promise<CheckpointPayload> {
  return {
    kind,
    step: cursor.globalStep,
    epoch: cursor.epoch,
    model: await serializeModel(model),
    optimizer: await serializeOptimizer(optimizer),
    state: { cursor: { ...cursor }, artifacts: data.artifacts },
  };
}

async function resume(from: CheckpointPayload, model: tf.LayersModel, optimizer: tf.Optimizer, cursor: TrainingCursor): Promise<void> {
  restoreModelWeights(model, from.model);
  if (from.optimizer) await restoreOptimizer(optimizer, from.optimizer);
  const saved = from.state['cursor'];
  if (!isCursor(saved)) throw new Error('checkpoint has no valid training cursor');
  Object.assign(cursor, saved);
}

function isCursor(value: unknown): value is TrainingCursor {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['epoch', 'stepInEpoch', 'globalStep', 'samplesSeen', 'trainMs'].every((k) => typeof v[k] === 'number' && Number.isFinite(v[k]));
}
