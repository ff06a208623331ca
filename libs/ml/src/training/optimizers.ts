import * as tf from '@tensorflow/tfjs';
import type { TrainingSpec } from '@tfleet/contracts';
import { FusedAdam } from './fused-adam';

export function createOptimizer(training: Pick<TrainingSpec, 'optimizer' | 'learningRate'>): tf.Optimizer {
  switch (training.optimizer) {
    case 'adam':
      // tf.train.adam's math, state and checkpoint format, one kernel per variable on wasm.
      return new FusedAdam(training.learningRate);
    case 'sgd':
      return tf.train.sgd(training.learningRate);
    case 'momentum':
      return tf.train.momentum(training.learningRate, 0.9);
    case 'rmsprop':
      return tf.train.rmsprop(training.learningRate);
  }
}
