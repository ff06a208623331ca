import * as tf from '@tensorflow/tfjs';
import type { TrainingSpec } from '@tfleet/contracts';

export function createOptimizer(training: Pick<TrainingSpec, 'optimizer' | 'learningRate'>): tf.Optimizer {
  switch (training.optimizer) {
    case 'adam':
      return tf.train.adam(training.learningRate);
    case 'sgd':
      return tf.train.sgd(training.learningRate);
    case 'momentum':
      return tf.train.momentum(training.learningRate, 0.9);
    case 'rmsprop':
      return tf.train.rmsprop(training.learningRate);
  }
}
