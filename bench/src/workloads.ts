import * as tf from '@tensorflow/tfjs';
import { FusedAdam, FusedGRU, FusedLayerNormalization, FusedLSTM, FusedSimpleRNN, MultiHeadAttention, PositionEmbedding, SeededRandom, sparseSoftmaxCrossEntropy } from '@tfleet/ml';

/**
 * The four reference workloads, built as the project's WORKLOADS.md describes them (the same
 * models the PyTorch peer builds): float32, logits out, softmax cross-entropy, Adam 1e-3.
 */
export const WORKLOAD_NAMES = ['cnn-mnist', 'lstm-lm', 'gru-lm', 'transformer-enc'] as const;
/**
 * Workloads beyond the four reference ones, run by name (`all` stays the four):
 * `simple-rnn-lm` is lstm-lm's shape with a SimpleRNN (tanh), as the peer's `nn.RNN`, on
 * FusedSimpleRNN; `simple-rnn-lm-stock` is the same model on tfjs-layers' own SimpleRNN loop,
 * for an A/B of the layer in one run.
 */
export const EXTRA_WORKLOAD_NAMES = ['simple-rnn-lm', 'simple-rnn-lm-stock'] as const;
export const ANY_WORKLOAD_NAMES = [...WORKLOAD_NAMES, ...EXTRA_WORKLOAD_NAMES] as const;
export type WorkloadName = (typeof ANY_WORKLOAD_NAMES)[number];

export interface Workload {
  name: string;
  model: tf.LayersModel;
  globalBatch: number;
  /** Random inputs and targets for `batch` samples, generated once. */
  makeBatch(batch: number, seed: number): { inputs: tf.Tensor[]; labels: tf.Tensor };
  /** Summed per-sample loss; defaults to softmax cross-entropy of the integer labels. */
  loss?: (output: tf.Tensor, target: tf.Tensor) => tf.Scalar;
  /** Optimizer; defaults to Adam 1e-3. */
  makeOptimizer?: () => tf.Optimizer;
}

export function isWorkloadName(name: string): name is WorkloadName {
  return (ANY_WORKLOAD_NAMES as readonly string[]).includes(name);
}

function randomTokens(shape: [number, number], vocab: number, rng: SeededRandom): tf.Tensor2D {
  const values = new Int32Array(shape[0] * shape[1]);
  for (let i = 0; i < values.length; i++) values[i] = rng.int(vocab);
  return tf.tensor2d(values, shape, 'int32');
}

function randomLabels(batch: number, classes: number, rng: SeededRandom): tf.Tensor1D {
  const values = new Int32Array(batch);
  for (let i = 0; i < batch; i++) values[i] = rng.int(classes);
  return tf.tensor1d(values, 'int32');
}

function cnnMnist(): Workload {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, padding: 'valid', activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'valid', activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10 }),
    ],
  });
  return {
    name: 'cnn-mnist',
    model,
    globalBatch: 64,
    makeBatch(batch, seed) {
      const rng = new SeededRandom(seed);
      const pixels = new Float32Array(batch * 28 * 28);
      for (let i = 0; i < pixels.length; i++) pixels[i] = rng.normal();
      return { inputs: [tf.tensor4d(pixels, [batch, 28, 28, 1])], labels: randomLabels(batch, 10, rng) };
    },
    // Adam as training runs it (createOptimizer): tf.train.adam's math and state, one kernel per
    // variable on wasm.
    makeOptimizer: () => new FusedAdam(1e-3),
  };
}

function recurrentLm(kind: 'lstm' | 'gru' | 'simple-rnn' | 'simple-rnn-stock'): Workload {
  const input = tf.input({ shape: [32], dtype: 'int32' });
  const embedded = tf.layers.embedding({ inputDim: 64, outputDim: 32 }).apply(input) as tf.SymbolicTensor;
  // Sigmoid gates, as PyTorch's LSTM and GRU (the peer) compute them; tfjs-layers' default is
  // the cheaper hardSigmoid, which would flatter the comparison.
  const rnnArgs = { units: 128, returnSequences: false, recurrentActivation: 'sigmoid' as const };
  // tfjs-layers' LSTM/GRU math, weights and defaults otherwise, run as whole-sequence kernels.
  // SimpleRNN: tanh, as tfjs-layers' default and PyTorch's nn.RNN.
  const rnn =
    kind === 'lstm'
      ? new FusedLSTM(rnnArgs)
      : kind === 'gru'
        ? new FusedGRU(rnnArgs)
        : kind === 'simple-rnn'
          ? new FusedSimpleRNN({ units: 128, returnSequences: false })
          : tf.layers.simpleRNN({ units: 128, returnSequences: false });
  const last = rnn.apply(embedded) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 64 }).apply(last) as tf.SymbolicTensor;
  return {
    name: kind === 'simple-rnn-stock' ? 'simple-rnn-lm-stock' : `${kind}-lm`,
    model: tf.model({ inputs: input, outputs: logits }),
    globalBatch: 64,
    makeBatch(batch, seed) {
      const rng = new SeededRandom(seed);
      return { inputs: [randomTokens([batch, 32], 64, rng)], labels: randomLabels(batch, 64, rng) };
    },
    makeOptimizer: () => new FusedAdam(1e-3),
  };
}

/**
 * Post-norm encoder, as the peer builds it. Layer norms are FusedLayerNormalization:
 * tf.layers.layerNormalization's weights, config and math in one kernel each way; the
 * optimizer is FusedAdam (tf.train.adam's math and state).
 */
function transformerEncoder(): Workload {
  const seq = 64;
  const d = 128;
  const input = tf.input({ shape: [seq], dtype: 'int32' });
  let x = tf.layers.embedding({ inputDim: 64, outputDim: d }).apply(input) as tf.SymbolicTensor;
  x = new PositionEmbedding({ sequenceLength: seq }).apply(x) as tf.SymbolicTensor;
  for (let layer = 0; layer < 2; layer++) {
    const attention = new MultiHeadAttention({ numHeads: 4, keyDim: d / 4 }).apply([x, x, x]) as tf.SymbolicTensor;
    x = new FusedLayerNormalization({ epsilon: 1e-5 }).apply(tf.layers.add().apply([x, attention])) as tf.SymbolicTensor;
    const hidden = tf.layers.dense({ units: 256, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
    const ffn = tf.layers.dense({ units: d }).apply(hidden) as tf.SymbolicTensor;
    x = new FusedLayerNormalization({ epsilon: 1e-5 }).apply(tf.layers.add().apply([x, ffn])) as tf.SymbolicTensor;
  }
  const pooled = tf.layers.globalAveragePooling1d().apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 64 }).apply(pooled) as tf.SymbolicTensor;
  return {
    name: 'transformer-enc',
    model: tf.model({ inputs: input, outputs: logits }),
    globalBatch: 32,
    makeBatch(batch, seed) {
      const rng = new SeededRandom(seed);
      return { inputs: [randomTokens([batch, seq], 64, rng)], labels: randomLabels(batch, 64, rng) };
    },
    // Adam 1e-3 with tf.train.adam's math and state, one kernel per variable on wasm.
    makeOptimizer: () => new FusedAdam(1e-3),
  };
}

export function buildWorkload(name: WorkloadName): Workload {
  switch (name) {
    case 'cnn-mnist':
      return cnnMnist();
    case 'lstm-lm':
      return recurrentLm('lstm');
    case 'gru-lm':
      return recurrentLm('gru');
    case 'transformer-enc':
      return transformerEncoder();
    case 'simple-rnn-lm':
      return recurrentLm('simple-rnn');
    case 'simple-rnn-lm-stock':
      return recurrentLm('simple-rnn-stock');
  }
}

/**
 * Summed softmax cross-entropy on logits (the trainer scales it by 1 / global batch), through
 * the same sparse cross-entropy as training runs (one wasm kernel each way; the composite
 * logSoftmax-times-one-hot where those kernels are not registered, as with --compare-stock).
 */
export function summedSoftmaxCrossEntropy(): (logits: tf.Tensor, labels: tf.Tensor) => tf.Scalar {
  return (logits, labels) => tf.tidy(() => tf.sum(sparseSoftmaxCrossEntropy(logits, labels)) as tf.Scalar);
}
