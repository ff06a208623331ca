import type * as tf from '@tensorflow/tfjs';
import { FAMILIES_BY_TASK, type ModelSpec } from '@tfleet/contracts';
import type { TaskInfo } from '../data/dataset';
import { buildCnn } from './cnn';
import { buildRecurrent } from './rnn';

/** Builds the model a spec describes for a task; the same spec and seed give the same weights. */
export function buildModel(spec: ModelSpec, info: TaskInfo, seed: number): tf.LayersModel {
  const fitting = FAMILIES_BY_TASK[info.task];
  if (!fitting.includes(spec.family)) {
    throw new Error(`model.family '${spec.family}' does not fit ${info.task}; families that fit: ${fitting.join(', ')}`);
  }
  switch (spec.family) {
    case 'cnn':
      return buildCnn(spec, info, seed);
    case 'simple-rnn':
    case 'lstm':
    case 'gru':
      return buildRecurrent(spec, info, seed);
    default:
      throw new Error(`model family '${spec.family}' is not available in this build`);
  }
}

/** Number of trainable scalars. */
export function countParameters(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
