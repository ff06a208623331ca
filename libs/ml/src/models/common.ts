import * as tf from '@tensorflow/tfjs';
import type { SampleSpec, TaskInfo } from '../data/dataset';

/** Applies a layer to one symbolic tensor or a list, typed for the single-output case. */
export function call(layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[], kwargs?: Record<string, unknown>): tf.SymbolicTensor {
  return layer.apply(x, kwargs) as tf.SymbolicTensor;
}

/** A model input for a sample spec. */
export function modelInput(spec: SampleSpec): tf.SymbolicTensor {
  return tf.input({ shape: spec.shape, dtype: spec.dtype, name: spec.name });
}

/** Rows an embedding needs so that every special id the task uses is a valid index. */
export function vocabularyRows(vocabSize: number, info: TaskInfo): number {
  return Math.max(vocabSize, ...[info.padId, info.startId, info.endId, info.maskId].map((id) => (id ?? -1) + 1));
}

/** Input vocabulary of the (encoder) token input; throws a clear error when absent. */
export function inputVocabulary(info: TaskInfo, family: string): number {
  if (info.inputVocabSize === undefined || !(info.inputVocabSize > 0)) {
    throw new Error(`${family}: token input needs a positive inputVocabSize in the task info`);
  }
  return vocabularyRows(info.inputVocabSize, info);
}

/** Describes the model inputs a task must provide, for error messages. */
export function expectInputs(info: TaskInfo, count: number, family: string): void {
  if (info.inputSpecs.length !== count) {
    throw new Error(`${family}: ${info.task} expects ${count} model input(s), the task provides ${info.inputSpecs.length}`);
  }
}

export function isTokenInput(spec: SampleSpec): boolean {
  return spec.dtype === 'int32';
}
