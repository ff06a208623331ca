import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@tfleet/contracts';
import type { TaskInfo } from '../data/dataset';
import { SeededDropout } from '../layers/seeded-dropout';
import { SeededInitializers } from './initializers';
import { outputUnits } from './heads';

export type CnnSpec = Extract<ModelSpec, { family: 'cnn' }>;

/**
 * Convolution blocks then dense layers. 2-D over images; 1-D over token embeddings (or over
 * continuous per-step features) for sequences, so a CNN can enter the sequence comparisons.
 * With no blocks it is a plain MLP. Outputs logits (or the regression value).
 * Dropout masks come from the training step (SeededDropout), so resumed and multi-rank runs
 * drop what a one-rank uninterrupted run drops.
 */
export function buildCnn(spec: CnnSpec, info: TaskInfo, seed: number): tf.LayersModel {
  const init = new SeededInitializers(seed);
  const inputSpec = info.inputSpecs[0];
  if (!inputSpec || info.inputSpecs.length !== 1) throw new Error('cnn: expects exactly one model input');
  const input = tf.input({ shape: inputSpec.shape, dtype: inputSpec.dtype, name: inputSpec.name });
  let x: tf.SymbolicTensor = input;
  const isImage = inputSpec.shape.length === 3;
  if (inputSpec.dtype === 'int32') {
    if (info.inputVocabSize === undefined) throw new Error('cnn: token input needs an input vocabulary size');
    x = tf.layers
      .embedding({ inputDim: info.inputVocabSize, outputDim: spec.embeddingDim, embeddingsInitializer: init.uniform(0.05) })
      .apply(x) as tf.SymbolicTensor;
  }
  // A sequence [steps, features] runs as a one-column image [steps, 1, features] through the
  // 2-D layers, kernels [k, 1], pools [p, 1]. tfjs-layers' Conv1D reshapes to that image anyway
  // but then adds its bias with a broadcasting Add (1.6 ms of cnn/spam-assassin's step on wasm)
  // and reshapes around every conv; Conv2D adds the bias inside FusedConv2D. The weights are the
  // same numbers ([k, 1, in, out] instead of [k, in, out]: same size, same Glorot fans, drawn in
  // the same order), and the [p, 1] max pool's gradient has its own SIMD kernel.
  const columnImage = !isImage && spec.blocks.length > 0;
  if (columnImage) {
    const [steps, features] = x.shape.slice(1);
    if (x.shape.length !== 3 || typeof steps !== 'number' || typeof features !== 'number') {
      throw new Error(`cnn: a sequence input must be [steps, features] with known sizes (got [${x.shape.slice(1)}])`);
    }
    x = tf.layers.reshape({ targetShape: [steps, 1, features] }).apply(x) as tf.SymbolicTensor;
  }
  for (const block of spec.blocks) {
    const conv = tf.layers.conv2d({
      filters: block.filters,
      kernelSize: isImage ? block.kernelSize : [block.kernelSize, 1],
      strides: isImage ? block.strides : [block.strides, 1],
      padding: block.padding,
      kernelInitializer: init.glorotUniform(),
      useBias: !block.batchNorm,
    });
    x = conv.apply(x) as tf.SymbolicTensor;
    if (block.batchNorm) x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
    x = activationLayer(block.activation).apply(x) as tf.SymbolicTensor;
    if (block.pool !== 'none') {
      const window: number | [number, number] = isImage ? block.poolSize : [block.poolSize, 1];
      const poolArgs = { poolSize: window, strides: window, padding: 'valid' as const };
      const pool = block.pool === 'max' ? tf.layers.maxPooling2d(poolArgs) : tf.layers.averagePooling2d(poolArgs);
      x = pool.apply(x) as tf.SymbolicTensor;
    }
    if (block.dropout > 0) x = new SeededDropout({ rate: block.dropout }).apply(x) as tf.SymbolicTensor;
  }
  x = (columnImage ? tf.layers.globalMaxPooling2d({}) : tf.layers.flatten()).apply(x) as tf.SymbolicTensor;
  for (const units of spec.denseUnits) {
    x = tf.layers.dense({ units, activation: 'relu', kernelInitializer: init.glorotUniform() }).apply(x) as tf.SymbolicTensor;
    if (spec.dropout > 0) x = new SeededDropout({ rate: spec.dropout }).apply(x) as tf.SymbolicTensor;
  }
  const output = tf.layers
    .dense({ units: outputUnits(info), kernelInitializer: init.glorotUniform(), name: 'head' })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'cnn' });
}

function activationLayer(name: CnnSpec['blocks'][number]['activation']): tf.layers.Layer {
  return tf.layers.activation({ activation: name });
}
