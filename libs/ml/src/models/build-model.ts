import * as tf from '@tensorflow/tfjs';
import { FAMILIES_BY_TASK, type ModelSpec } from '@tfleet/contracts';
import type { TaskInfo } from '../data/dataset';
import { buildCnn } from './cnn';
import { buildBert } from './bert';
import { buildRecurrent } from './rnn';
import { buildTransformer } from './transformer';

/**
 * Builds the model a spec describes for a task; the same spec and seed give the same weights.
 * Every model outputs logits (or the regression value): [B, classes], [B, 1], or [B, T, vocab]
 * for language modelling and seq2seq (teacher-forced decoder input).
 */
export function buildModel(spec: ModelSpec, info: TaskInfo, seed: number): tf.LayersModel {
  const fitting = FAMILIES_BY_TASK[info.task];
  if (!fitting.includes(spec.family)) {
    throw new Error(`model.family '${spec.family}' does not fit ${info.task}; families that fit: ${fitting.join(', ')}`);
  }
  // Built inside a tidy: tfjs-layers' LSTM bias initializer (unitForgetBias) leaves its four
  // intermediate tensors behind. Weights are variables, which a tidy keeps.
  let model: tf.LayersModel | undefined;
  tf.tidy(() => {
    model = buildFamily(spec, info, seed);
  });
  return model!;
}

function buildFamily(spec: ModelSpec, info: TaskInfo, seed: number): tf.LayersModel {
  switch (spec.family) {
    case 'cnn':
      return buildCnn(spec, info, seed);
    case 'simple-rnn':
    case 'lstm':
    case 'gru':
      return buildRecurrent(spec, info, seed);
    case 'transformer':
      return buildTransformer(spec, info, seed);
    case 'bert':
      // A fresh model; fine-tuning from `pretrainedFrom` is buildBertClassifierFrom's job.
      return buildBert(spec, info, seed);
  }
}

/** Number of trainable scalars. */
export function countParameters(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
