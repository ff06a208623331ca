import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@tfleet/contracts';
import type { TaskInfo } from '../data/dataset';
import { FusedLayerNormalization } from '../layers/fused-layer-norm';
import { MultiHeadAttention, TokenPaddingMask } from '../layers/multi-head-attention';
import { PositionEmbedding, SinusoidalPositionEncoding } from '../layers/position-embedding';
import { SeededDropout } from '../layers/seeded-dropout';
import { call, expectInputs, inputVocabulary, isTokenInput, modelInput, vocabularyRows } from './common';
import { outputUnits } from './heads';
import { SeededInitializers } from './initializers';
import { Identity, MaskedMeanPooling } from './pooling';

export type TransformerSpec = Extract<ModelSpec, { family: 'transformer' }>;

/** The options every Transformer block reads (shared by `transformer` and `bert`). */
interface BlockOptions {
  dModel: number;
  heads: number;
  ffDim: number;
  dropout: number;
  norm: 'pre' | 'post';
  /** Feed-forward activation: ReLU in the original Transformer, GELU in BERT. */
  activation: 'relu' | 'gelu';
  /** Prefix for layer names; names make a pretrained encoder's layers findable. */
  namePrefix?: string;
}

/** Gives every layer of one model a unique, stable name when a prefix is set. */
class Namer {
  private counter = 0;
  constructor(private readonly prefix: string | undefined) {}
  next(kind: string): { name?: string } {
    return this.prefix === undefined ? {} : { name: `${this.prefix}_${kind}_${this.counter++}` };
  }
}

function validateBlockOptions(options: BlockOptions): void {
  for (const field of ['dModel', 'heads', 'ffDim'] as const) {
    const value = options[field];
    if (!Number.isInteger(value) || value <= 0) throw new Error(`model.${field} must be a positive integer (got ${value})`);
  }
  if (options.dModel % options.heads !== 0) {
    throw new Error(`model.heads (${options.heads}) must divide model.dModel (${options.dModel})`);
  }
  if (!(options.dropout >= 0 && options.dropout < 1)) throw new Error(`model.dropout must be in [0, 1) (got ${options.dropout})`);
}

/** Builds the blocks of one model, drawing seeds and names in a fixed order. */
export class BlockBuilder {
  private readonly namer: Namer;

  constructor(
    readonly options: BlockOptions,
    readonly init: SeededInitializers,
  ) {
    validateBlockOptions(options);
    this.namer = new Namer(options.namePrefix);
  }

  name(kind: string): { name?: string } {
    return this.namer.next(kind);
  }

  layerNorm(x: tf.SymbolicTensor, name?: string): tf.SymbolicTensor {
    // Stock LayerNormalization's math and weights in one kernel each way on wasm; checkpoints
    // saved with the stock class still load (it stays registered).
    return call(new FusedLayerNormalization({ epsilon: 1e-5, ...(name ? { name } : this.name('norm')) }), x);
  }

  dropout(x: tf.SymbolicTensor): tf.SymbolicTensor {
    // Masks from the training step's seed, step and sample positions (SeededDropout), not
    // tfjs' own dropout: unseeded it cannot be replayed, seeded it drops the same units at
    // every step.
    return this.options.dropout > 0 ? call(new SeededDropout({ rate: this.options.dropout, ...this.name('dropout') }), x) : x;
  }

  dense(x: tf.SymbolicTensor, units: number, activation?: 'relu' | 'gelu' | 'tanh', name?: string): tf.SymbolicTensor {
    return call(
      tf.layers.dense({
        units,
        ...(activation ? { activation } : {}),
        kernelInitializer: this.init.glorotUniform(),
        ...(name ? { name } : this.name('dense')),
      }),
      x,
    );
  }

  attention(query: tf.SymbolicTensor, keyValue: tf.SymbolicTensor, mask: tf.SymbolicTensor | null, causal: boolean): tf.SymbolicTensor {
    const { dModel, heads, dropout } = this.options;
    const layer = new MultiHeadAttention({
      numHeads: heads,
      keyDim: dModel / heads,
      dropout,
      causal,
      seed: this.init.nextSeed(),
      ...this.name('attention'),
    });
    // A fresh key/value tensor, consumed only here (see Identity).
    const kv = call(new Identity(this.name('key_value')), keyValue);
    return call(layer, mask ? [query, kv, kv, mask] : [query, kv]);
  }

  feedForward(x: tf.SymbolicTensor): tf.SymbolicTensor {
    return this.dense(this.dense(x, this.options.ffDim, this.options.activation), this.options.dModel);
  }

  /** x + f(x) with layer norm before f (pre) or after the sum (post), dropout on f's output. */
  residual(x: tf.SymbolicTensor, f: (h: tf.SymbolicTensor) => tf.SymbolicTensor): tf.SymbolicTensor {
    if (this.options.norm === 'pre') {
      const h = this.dropout(f(this.layerNorm(x)));
      return call(tf.layers.add(this.name('add')), [x, h]);
    }
    const h = this.dropout(f(x));
    return this.layerNorm(call(tf.layers.add(this.name('add')), [x, h]));
  }

  /** Self-attention (padding-masked and/or causal) then feed-forward. */
  encoderBlock(x: tf.SymbolicTensor, mask: tf.SymbolicTensor | null, causal: boolean): tf.SymbolicTensor {
    const attended = this.residual(x, (h) => this.attention(h, h, mask, causal));
    return this.residual(attended, (h) => this.feedForward(h));
  }

  /** Causal self-attention, cross-attention over the encoder output, feed-forward. */
  decoderBlock(y: tf.SymbolicTensor, encoded: tf.SymbolicTensor, encoderMask: tf.SymbolicTensor | null): tf.SymbolicTensor {
    const selfAttended = this.residual(y, (h) => this.attention(h, h, null, true));
    const crossAttended = this.residual(selfAttended, (h) => this.attention(h, encoded, encoderMask, false));
    return this.residual(crossAttended, (h) => this.feedForward(h));
  }

  /** Pre-norm stacks end with a layer norm (their residual stream is never normalised otherwise). */
  finish(x: tf.SymbolicTensor): tf.SymbolicTensor {
    return this.options.norm === 'pre' ? this.layerNorm(x) : x;
  }

  positional(x: tf.SymbolicTensor, kind: 'sinusoidal' | 'learned', maxLength: number): tf.SymbolicTensor {
    const layer =
      kind === 'learned'
        ? new PositionEmbedding({ sequenceLength: maxLength, seed: this.init.nextSeed(), ...this.name('positions') })
        : new SinusoidalPositionEncoding(this.name('positions'));
    return call(layer, x);
  }

  tokenEmbedding(ids: tf.SymbolicTensor, rows: number, stddev: number): tf.SymbolicTensor {
    return call(
      tf.layers.embedding({
        inputDim: rows,
        outputDim: this.options.dModel,
        embeddingsInitializer: this.init.normal(stddev),
        ...this.name('embedding'),
      }),
      ids,
    );
  }
}

/**
 * Transformer (Vaswani et al.) for every task it fits:
 * - seq2seq: encoder (`encoderLayers` blocks, source padding masked) and decoder
 *   (`decoderLayers` blocks: causal self-attention, cross-attention over the encoder output
 *   with the source padding masked, feed-forward), teacher-forced, logits at each target step.
 * - language modelling: decoder-only (GPT-style): `decoderLayers` causal self-attention blocks
 *   (with no cross-attention), or `encoderLayers` blocks with a causal mask when
 *   decoderLayers is 0. Logits for the next token at every position.
 * - sequence classification / regression: encoder-only, `encoderLayers` blocks (or
 *   `decoderLayers` when encoderLayers is 0, without a causal mask), padding masked, a masked
 *   mean over positions, then a dense head. Float inputs ([T, features]) are projected to
 *   dModel by a dense layer instead of embedded.
 * Token embeddings start at N(0, 1), the scale of the sinusoidal encoding they are added to
 * (the original multiplies N(0, 1/dModel) embeddings by sqrt(dModel)).
 */
export function buildTransformer(spec: TransformerSpec, info: TaskInfo, seed: number): tf.LayersModel {
  for (const field of ['encoderLayers', 'decoderLayers'] as const) {
    if (!Number.isInteger(spec[field]) || spec[field] < 0) throw new Error(`model.${field} must be a non-negative integer (got ${spec[field]})`);
  }
  if (spec.encoderLayers + spec.decoderLayers === 0) throw new Error('model.encoderLayers: a transformer needs at least one encoder or decoder layer');
  const blocks = new BlockBuilder(
    { dModel: spec.dModel, heads: spec.heads, ffDim: spec.ffDim, dropout: spec.dropout, norm: spec.norm, activation: 'relu' },
    new SeededInitializers(seed),
  );
  switch (info.task) {
    case 'seq2seq':
      return buildSeq2Seq(spec, info, blocks);
    case 'language-modelling':
      return buildDecoderOnly(spec, info, blocks);
    case 'sequence-classification':
    case 'sequence-regression':
      return buildEncoderOnly(spec, info, blocks);
    default:
      throw new Error(`transformer does not fit ${info.task}`);
  }
}

function sequenceLength(info: TaskInfo, input: number): number {
  const length = info.inputSpecs[input].shape[0];
  if (!Number.isInteger(length) || length <= 0) throw new Error(`input ${input} needs a known sequence length`);
  return length;
}

function buildEncoderOnly(spec: TransformerSpec, info: TaskInfo, blocks: BlockBuilder): tf.LayersModel {
  expectInputs(info, 1, 'transformer');
  const inputSpec = info.inputSpecs[0];
  const input = modelInput(inputSpec);
  let x: tf.SymbolicTensor;
  let mask: tf.SymbolicTensor | null = null;
  if (isTokenInput(inputSpec)) {
    mask = call(new TokenPaddingMask({ padId: info.padId ?? 0 }), input);
    x = blocks.tokenEmbedding(input, inputVocabulary(info, 'transformer'), 1);
  } else {
    if (inputSpec.shape.length !== 2) throw new Error(`transformer: float input must be [time, features] (got [${inputSpec.shape.join(', ')}])`);
    x = blocks.dense(input, spec.dModel);
  }
  x = blocks.dropout(blocks.positional(x, spec.positional, sequenceLength(info, 0)));
  const layers = spec.encoderLayers > 0 ? spec.encoderLayers : spec.decoderLayers;
  for (let i = 0; i < layers; i++) x = blocks.encoderBlock(x, mask, false);
  x = blocks.finish(x);
  const pooled = call(new MaskedMeanPooling(), mask ? [x, mask] : x);
  const output = blocks.dense(pooled, outputUnits(info), undefined, 'head');
  return tf.model({ inputs: input, outputs: output, name: 'transformer-encoder' });
}

function buildDecoderOnly(spec: TransformerSpec, info: TaskInfo, blocks: BlockBuilder): tf.LayersModel {
  expectInputs(info, 1, 'transformer');
  const input = modelInput(info.inputSpecs[0]);
  let x = blocks.tokenEmbedding(input, inputVocabulary(info, 'transformer'), 1);
  x = blocks.dropout(blocks.positional(x, spec.positional, sequenceLength(info, 0)));
  const layers = spec.decoderLayers > 0 ? spec.decoderLayers : spec.encoderLayers;
  // Padding (if any) sits after the real tokens, so the causal mask already keeps it out of
  // every real position's context; its own outputs are excluded by the loss mask.
  for (let i = 0; i < layers; i++) x = blocks.encoderBlock(x, null, true);
  x = blocks.finish(x);
  const logits = blocks.dense(x, info.numClasses, undefined, 'head');
  return tf.model({ inputs: input, outputs: logits, name: 'transformer-decoder' });
}

function buildSeq2Seq(spec: TransformerSpec, info: TaskInfo, blocks: BlockBuilder): tf.LayersModel {
  expectInputs(info, 2, 'transformer');
  if (spec.decoderLayers === 0) throw new Error('model.decoderLayers must be at least 1 for a sequence-to-sequence task');
  const encoderIds = modelInput(info.inputSpecs[0]);
  const decoderIds = modelInput(info.inputSpecs[1]);
  const encoderMask = call(new TokenPaddingMask({ padId: info.padId ?? 0 }), encoderIds);
  let x = blocks.tokenEmbedding(encoderIds, inputVocabulary(info, 'transformer'), 1);
  x = blocks.dropout(blocks.positional(x, spec.positional, sequenceLength(info, 0)));
  for (let i = 0; i < spec.encoderLayers; i++) x = blocks.encoderBlock(x, encoderMask, false);
  const encoded = blocks.finish(x);

  let y = blocks.tokenEmbedding(decoderIds, vocabularyRows(info.numClasses, info), 1);
  y = blocks.dropout(blocks.positional(y, spec.positional, sequenceLength(info, 1)));
  for (let i = 0; i < spec.decoderLayers; i++) y = blocks.decoderBlock(y, encoded, encoderMask);
  y = blocks.finish(y);
  const logits = blocks.dense(y, info.numClasses, undefined, 'head');
  return tf.model({ inputs: [encoderIds, decoderIds], outputs: logits, name: 'transformer-seq2seq' });
}
