import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@tfleet/contracts';
import type { TaskInfo } from '../data/dataset';
import { maskTokens } from '../data/masking';
import type { SeededRandom } from '../data/rng';
import { TokenPaddingMask } from '../layers/multi-head-attention';
import { SeededDropout } from '../layers/seeded-dropout';
import { call, expectInputs, inputVocabulary } from './common';
import { SeededInitializers } from './initializers';
import { MaskedMeanPooling } from './pooling';
import { BlockBuilder } from './transformer';

export type BertSpec = Extract<ModelSpec, { family: 'bert' }>;

/** Learned position table size: pretraining and fine-tuning lengths may differ, up to this. */
const BERT_MAX_POSITIONS = 512;
/** Name of the encoder's output layer, where a classifier attaches to a pretrained model. */
const BERT_ENCODER_OUTPUT = 'bert_encoder_output';

/**
 * BERT (Devlin et al.): a Transformer encoder over token ids (any length up to
 * max(sequence length, BERT_MAX_POSITIONS)), token + position embeddings, layer norm, `layers`
 * bidirectional self-attention blocks with padding masked, GELU feed-forward.
 * - On a language-modelling data set it is the masked-language-model pretraining model: the
 *   MLM head (dense + GELU, layer norm, vocabulary logits) gives logits [B, T, vocab] at every
 *   position. Batches must be corrupted with {@link maskedLanguageModelBatch}.
 * - On sequence classification it is a classifier trained from scratch: masked mean pooling, a
 *   tanh pooler and a class head. To fine-tune instead, use {@link buildBertClassifierFrom}.
 * Layers are named `bert_*` so a checkpoint's encoder can be found again.
 */
export function buildBert(spec: BertSpec, info: TaskInfo, seed: number): tf.LayersModel {
  if (!Number.isInteger(spec.layers) || spec.layers <= 0) throw new Error(`model.layers must be a positive integer (got ${spec.layers})`);
  if (info.task !== 'language-modelling' && info.task !== 'sequence-classification') {
    throw new Error(`bert does not fit ${info.task}`);
  }
  expectInputs(info, 1, 'bert');
  if (info.inputSpecs[0].dtype !== 'int32') throw new Error('bert: expects token ids');
  const length = info.inputSpecs[0].shape[0];
  const blocks = new BlockBuilder(
    { dModel: spec.dModel, heads: spec.heads, ffDim: spec.ffDim, dropout: spec.dropout, norm: spec.norm, activation: 'gelu', namePrefix: 'bert' },
    new SeededInitializers(seed),
  );
  if (info.task === 'language-modelling' && info.maskId === undefined) {
    throw new Error('bert: masked-language-model pretraining needs a maskId in the task info');
  }
  // Variable length, so a checkpoint pretrained on one length fine-tunes on another.
  const ids = tf.input({ shape: [null], dtype: 'int32', name: 'tokens' });
  const mask = call(new TokenPaddingMask({ padId: info.padId ?? 0, name: 'bert_padding_mask' }), ids);
  let x = blocks.tokenEmbedding(ids, inputVocabulary(info, 'bert'), 0.02);
  x = blocks.positional(x, spec.positional, Math.max(length, BERT_MAX_POSITIONS));
  x = blocks.dropout(blocks.layerNorm(x));
  for (let i = 0; i < spec.layers; i++) x = blocks.encoderBlock(x, mask, false);
  x = blocks.finish(x);
  const encoded = call(tf.layers.activation({ activation: 'linear', name: BERT_ENCODER_OUTPUT }), x);

  if (info.task === 'language-modelling') {
    let h = blocks.dense(encoded, spec.dModel, 'gelu', 'bert_mlm_transform');
    h = blocks.layerNorm(h, 'bert_mlm_norm');
    const logits = blocks.dense(h, info.numClasses, undefined, 'bert_mlm_logits');
    return tf.model({ inputs: ids, outputs: logits, name: 'bert-mlm' });
  }
  return tf.model({ inputs: ids, outputs: classificationHead(encoded, mask, info, blocks), name: 'bert-classifier' });
}

function classificationHead(encoded: tf.SymbolicTensor, mask: tf.SymbolicTensor, info: TaskInfo, blocks: BlockBuilder): tf.SymbolicTensor {
  const pooled = call(new MaskedMeanPooling({ name: 'bert_pool' }), [encoded, mask]);
  const pooler = blocks.dropout(blocks.dense(pooled, blocks.options.dModel, 'tanh', 'bert_pooler'));
  return blocks.dense(pooler, info.numClasses, undefined, 'bert_classifier');
}

/**
 * A sequence classifier fine-tuned from a pretrained (MLM) BERT: the pretrained encoder with a
 * fresh, seeded classification head. The result shares the encoder's layers (and weights)
 * with `pretrained`, which should be a model loaded for this purpose: dispose only the result.
 * The task's token ids must come from the pretraining vocabulary (the loader's `vocabulary`
 * option) and use the same padding id.
 */
export function buildBertClassifierFrom(pretrained: tf.LayersModel, info: TaskInfo, seed: number): tf.LayersModel {
  if (info.task !== 'sequence-classification') throw new Error(`bert fine-tuning applies to sequence classification, not ${info.task}`);
  expectInputs(info, 1, 'bert');
  let encoderLayer: tf.layers.Layer;
  try {
    encoderLayer = pretrained.getLayer(BERT_ENCODER_OUTPUT);
  } catch {
    throw new Error(`model.pretrainedFrom: the checkpoint is not a BERT model (no '${BERT_ENCODER_OUTPUT}' layer)`);
  }
  const maskLayer = pretrained.layers.find((layer): layer is TokenPaddingMask => layer instanceof TokenPaddingMask);
  if (!maskLayer) throw new Error('model.pretrainedFrom: the checkpoint has no padding mask layer');
  if (maskLayer.padId !== (info.padId ?? 0)) {
    throw new Error(`model.pretrainedFrom: the checkpoint pads with id ${maskLayer.padId}, the data set with ${info.padId ?? 0}`);
  }
  const embedding = pretrained.layers.find((layer) => layer.getClassName() === 'Embedding');
  const rows = embedding?.getConfig()['inputDim'];
  if (typeof rows !== 'number' || rows < (info.inputVocabSize ?? 0)) {
    throw new Error(`model.pretrainedFrom: the data set's vocabulary (${info.inputVocabSize}) is larger than the checkpoint's (${String(rows)}); encode it with the pretraining vocabulary`);
  }
  const positions = pretrained.layers.find((layer) => layer.getClassName() === 'TfleetPositionEmbedding');
  const maxLength = positions?.getConfig()['sequenceLength'];
  if (typeof maxLength === 'number' && info.inputSpecs[0].shape[0] > maxLength) {
    throw new Error(`model.pretrainedFrom: sequences of ${info.inputSpecs[0].shape[0]} tokens exceed the checkpoint's ${maxLength} positions`);
  }
  const dModel = (encoderLayer.output as tf.SymbolicTensor).shape[2];
  if (typeof dModel !== 'number') throw new Error('model.pretrainedFrom: the checkpoint encoder has no known width');
  const dropout = findDropoutRate(pretrained);
  const blocks = new BlockBuilder(
    { dModel, heads: 1, ffDim: 1, dropout, norm: 'post', activation: 'gelu', namePrefix: 'bert_finetune' },
    new SeededInitializers(seed),
  );
  const logits = classificationHead(encoderLayer.output as tf.SymbolicTensor, maskLayer.output as tf.SymbolicTensor, info, blocks);
  return tf.model({ inputs: pretrained.inputs, outputs: logits, name: 'bert-classifier' });
}

function findDropoutRate(model: tf.LayersModel): number {
  // TfleetDropout since dropout masks are seeded; 'Dropout' in checkpoints saved before.
  const layer = model.layers.find((l) => l.getClassName() === SeededDropout.className || l.getClassName() === 'Dropout');
  const rate = layer?.getConfig()['rate'];
  return typeof rate === 'number' ? rate : 0;
}

/**
 * Turns a language-modelling batch into a masked-language-model batch: the model input is the
 * token window with chosen positions corrupted (80% mask id, 10% random, 10% kept, at
 * `maskRate`), and the target holds the original token at chosen positions and `padId`
 * everywhere else, so the ordinary padding-masked token loss is exactly the MLM loss.
 */
export function maskedLanguageModelBatch(
  tokens: Int32Array,
  info: TaskInfo,
  maskRate: number,
  rng: SeededRandom,
): { inputs: Int32Array; target: Int32Array } {
  if (info.maskId === undefined) throw new Error('masked-language-model batches need a maskId in the task info');
  const padId = info.padId ?? 0;
  const protectedIds = info.startId === undefined ? [] : [info.startId];
  const masked = maskTokens(
    tokens,
    { maskRate, maskId: info.maskId, padId, vocabSize: info.inputVocabSize ?? info.numClasses, protectedIds },
    rng,
  );
  const target = new Int32Array(tokens.length).fill(padId);
  for (let i = 0; i < tokens.length; i++) if (masked.weights[i] === 1) target[i] = masked.targets[i];
  return { inputs: masked.inputs, target };
}
