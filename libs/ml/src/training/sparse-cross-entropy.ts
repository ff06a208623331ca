import * as tf from '@tensorflow/tfjs';
import { readsSynchronously } from '../backend/tensor-contents';
import { SOFTMAX_XENT, SOFTMAX_XENT_GRAD } from '../backend/wasm-kernels/softmax-cross-entropy';

/**
 * Cross-entropy of integer targets against logits over the last axis: logits [..., classes],
 * targets [...] (any numeric dtype, holding class ids) -> per-position losses [...].
 *
 * Where the backend has the fused kernels (wasm), forward and backward are one kernel each:
 * the forward pass keeps exp(logits - max) and the row sums, from which the backward pass
 * forms softmax minus the one-hot, times the upstream gradient. Elsewhere it is the composite
 * logSoftmax-times-one-hot. A target that is not an integer in [0, classes) is an error on both
 * paths (as in PyTorch; on backends that read synchronously), thrown before anything is computed: silently it would get loss 0 and
 * no gradient (its one-hot is all zeros) and a run would train on garbage.
 */
export function sparseSoftmaxCrossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  const classes = logits.shape[logits.rank - 1]!;
  assertClassIds(targets, classes);
  const backend = tf.getBackend();
  const fused = logits.dtype === 'float32' && backend !== undefined && tf.getKernel(SOFTMAX_XENT, backend) !== undefined;
  if (!fused) return compositeCrossEntropy(logits, targets, classes);
  return tf.tidy(() => {
    const rows = logits.size / classes;
    const labels = tf.cast(targets, 'int32').reshape([rows]);
    const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const x = args[0] as tf.Tensor;
      const save = args[1] as tf.GradSaveFunc;
      const [loss, e, inv] = tf.engine().runKernel(SOFTMAX_XENT, { logits: x.reshape([rows, classes]), labels }) as tf.Tensor[];
      // labels too: this tidy disposes them before the backward pass runs.
      save([e, inv, labels]);
      return {
        value: loss,
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const inputs = { e: saved[0], inv: saved[1], labels: saved[2], dy: (dy as tf.Tensor).reshape([rows]) };
          return (tf.engine().runKernel(SOFTMAX_XENT_GRAD, inputs) as tf.Tensor).reshape(x.shape);
        },
      };
    }) as (x: tf.Tensor) => tf.Tensor;
    return op(logits).reshape(targets.shape);
  });
}

function compositeCrossEntropy(logits: tf.Tensor, targets: tf.Tensor, classes: number): tf.Tensor {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    const oneHot = tf.oneHot(tf.cast(targets, 'int32'), classes);
    return tf.neg(tf.sum(tf.mul(oneHot, logProbs), -1));
  });
}

/**
 * Throws a {@link LabelOutOfRangeError} naming the first target that is not a class id. On a
 * backend that cannot read synchronously (webgpu) it checks nothing here: training runs check
 * every target before their first step (assertTargetsFitModel in run-rank.ts).
 */
export function assertClassIds(targets: tf.Tensor, classes: number): void {
  if (!readsSynchronously()) return;
  // One small read of the targets per loss call (they are [batch] or [batch, time]).
  const values = targets.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v < classes)) throw new LabelOutOfRangeError(v, i, classes);
  }
}

/** A cross-entropy target that is not a class id: the data set and the model disagree. */
export class LabelOutOfRangeError extends Error {
  constructor(
    readonly label: number,
    readonly position: number,
    readonly classes: number,
  ) {
    super(`cross-entropy label ${label} at position ${position} is not a class id in [0, ${classes}): the data's labels do not fit the model's ${classes} outputs`);
    this.name = 'LabelOutOfRangeError';
  }
}
