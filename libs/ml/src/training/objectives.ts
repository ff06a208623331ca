import * as tf from '@tensorflow/tfjs';
import type { TaskInfo } from '../data/dataset';
import { sparseSoftmaxCrossEntropy } from './sparse-cross-entropy';

/**
 * Per-sample losses for each task. A sequence loss is the mean over the sample's non-padding
 * tokens, and the batch loss the mean over samples: that keeps the loss of a global batch the
 * same however it is split across ranks (a token-weighted mean would need the global count).
 */
export function perSampleLoss(info: TaskInfo, output: tf.Tensor, target: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    switch (info.task) {
      case 'sequence-regression':
        return tf.square(tf.sub(output.reshape([-1]), target.reshape([-1]))) as tf.Tensor1D;
      case 'image-classification':
      case 'sequence-classification':
        return sparseSoftmaxCrossEntropy(output, target) as tf.Tensor1D;
      case 'language-modelling':
      case 'seq2seq': {
        const tokenLoss = sparseSoftmaxCrossEntropy(output, target); // [B, T]
        const mask = tokenMask(info, target);
        return tf.div(tf.sum(tf.mul(tokenLoss, mask), -1), tf.maximum(tf.sum(mask, -1), 1)) as tf.Tensor1D;
      }
    }
  });
}


/** 1 where a target token counts, 0 on padding. */
function tokenMask(info: TaskInfo, target: tf.Tensor): tf.Tensor {
  return info.padId === undefined ? tf.onesLike(target).toFloat() : tf.cast(tf.notEqual(target, info.padId), 'float32');
}

/**
 * Sums, over a batch, of what evaluation reports. Kept as sums with counts so ranks can add
 * theirs up before dividing.
 */
export interface EvalSums {
  samples: number;
  lossSum: number;
  /** Correct predictions (samples for classification, tokens for sequences). */
  correct: number;
  /** Predictions counted for accuracy (samples, or non-padding tokens). */
  predictions: number;
  /** Sum of token losses, for perplexity (sequence tasks). */
  tokenLossSum: number;
}

export const EVAL_SUM_KEYS = ['samples', 'lossSum', 'correct', 'predictions', 'tokenLossSum'] as const;

export function emptyEvalSums(): EvalSums {
  return { samples: 0, lossSum: 0, correct: 0, predictions: 0, tokenLossSum: 0 };
}

export async function evalBatchSums(info: TaskInfo, output: tf.Tensor, target: tf.Tensor): Promise<EvalSums> {
  const values = tf.tidy(() => {
    const lossSum = tf.sum(perSampleLoss(info, output, target));
    switch (info.task) {
      case 'sequence-regression': {
        // The adding problem's classic criterion: an answer within 0.04 counts as right.
        const close = tf.lessEqual(tf.abs(tf.sub(output.reshape([-1]), target.reshape([-1]))), 0.04);
        return tf.stack([lossSum, tf.sum(tf.cast(close, 'float32')), tf.scalar(target.shape[0]!), tf.scalar(0)]);
      }
      case 'image-classification':
      case 'sequence-classification': {
        const hits = tf.equal(tf.argMax(output, -1), tf.cast(target, 'int32'));
        return tf.stack([lossSum, tf.sum(tf.cast(hits, 'float32')), tf.scalar(target.shape[0]!), tf.scalar(0)]);
      }
      case 'language-modelling':
      case 'seq2seq': {
        const mask = tokenMask(info, target);
        const hits = tf.mul(tf.cast(tf.equal(tf.argMax(output, -1), tf.cast(target, 'int32')), 'float32'), mask);
        const tokenLoss = tf.mul(sparseSoftmaxCrossEntropy(output, target), mask);
        return tf.stack([lossSum, tf.sum(hits), tf.sum(mask), tf.sum(tokenLoss)]);
      }
    }
  });
  // Read asynchronously: webgpu has no synchronous read under Node.
  const [lossSum, correct, predictions, tokenLossSum] = await values.data();
  values.dispose();
  return { samples: target.shape[0]!, lossSum: lossSum!, correct: correct!, predictions: predictions!, tokenLossSum: tokenLossSum! };
}

/** Turns summed evaluation figures into the task's metrics. */
export function metricsFromSums(info: TaskInfo, sums: EvalSums): Record<string, number> {
  const loss = sums.samples > 0 ? sums.lossSum / sums.samples : Number.NaN;
  const accuracy = sums.predictions > 0 ? sums.correct / sums.predictions : Number.NaN;
  switch (info.task) {
    case 'sequence-regression':
      return { loss, mse: loss, accuracy };
    case 'image-classification':
    case 'sequence-classification':
      return { loss, accuracy };
    case 'language-modelling':
      return { loss, accuracy, perplexity: Math.exp(sums.tokenLossSum / Math.max(sums.predictions, 1)) };
    case 'seq2seq':
      return { loss, tokenAccuracy: accuracy, accuracy, perplexity: Math.exp(sums.tokenLossSum / Math.max(sums.predictions, 1)) };
  }
}
