import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@tfleet/contracts';
import type { TaskInfo } from '../data/dataset';
import { FusedGRU, FusedLSTM } from '../layers/fused-recurrent';
import { FusedSimpleRNN } from '../layers/fused-simple-rnn';
import { MemoBidirectional } from '../layers/memo-bidirectional';
import { MultiHeadAttention, TokenPaddingMask } from '../layers/multi-head-attention';
import { SeededDropout } from '../layers/seeded-dropout';
import { call, expectInputs, inputVocabulary, isTokenInput, modelInput, vocabularyRows } from './common';
import { outputUnits } from './heads';
import { SeededInitializers } from './initializers';
import { Identity } from './pooling';
// Registers the StateInit* classes, so models saved with them still load.
import './recurrent-layers';

export type RecurrentSpec = Extract<ModelSpec, { family: 'simple-rnn' | 'lstm' | 'gru' }>;

interface StackOutput {
  output: tf.SymbolicTensor;
  /** Final states of each layer (h, or h and c for LSTM); bidirectional states are concatenated. */
  states: tf.SymbolicTensor[][];
}

/**
 * Recurrent models for every task they fit:
 * - sequence classification / regression: embedding (token input) or the raw per-step features
 *   (float input), stacked recurrent layers (optionally bidirectional), a dense head on the last
 *   layer's final output. Token input padded with id 0 is masked, so the final state is the one
 *   after the last real token.
 * - language modelling: embedding, unidirectional stack returning every step (a causal model),
 *   a dense vocabulary head at every position.
 * - seq2seq: encoder stack (optionally bidirectional) whose final states initialise a decoder
 *   stack run with teacher forcing; with `attention`, each decoder step attends (one-head
 *   scaled dot-product attention, padding masked) over the encoder outputs and the context is
 *   combined with the decoder state (Luong et al.) before the vocabulary head.
 */
export function buildRecurrent(spec: RecurrentSpec, info: TaskInfo, seed: number): tf.LayersModel {
  validateRecurrentSpec(spec);
  const init = new SeededInitializers(seed);
  switch (info.task) {
    case 'sequence-classification':
    case 'sequence-regression':
      return buildRecurrentClassifier(spec, info, init);
    case 'language-modelling':
      return buildRecurrentLanguageModel(spec, info, init);
    case 'seq2seq':
      return buildRecurrentSeq2Seq(spec, info, init);
    default:
      throw new Error(`${spec.family} does not fit ${info.task}`);
  }
}

function validateRecurrentSpec(spec: RecurrentSpec): void {
  for (const field of ['units', 'layers', 'embeddingDim'] as const) {
    const value = spec[field];
    if (!Number.isInteger(value) || value <= 0) throw new Error(`model.${field} must be a positive integer (got ${value})`);
  }
  if (!(spec.dropout >= 0 && spec.dropout < 1)) throw new Error(`model.dropout must be in [0, 1) (got ${spec.dropout})`);
}

function recurrentLayer(
  spec: RecurrentSpec,
  init: SeededInitializers,
  units: number,
  returnSequences: boolean,
  returnState: boolean,
): tf.layers.RNN {
  const args = {
    units,
    returnSequences,
    returnState,
    kernelInitializer: init.glorotUniform(),
    recurrentInitializer: init.orthogonal(),
  };
  // FusedSimpleRNN / FusedLSTM / FusedGRU: tfjs-layers' SimpleRNN / LSTM / GRU (same weights,
  // initialisers, math) run as whole-sequence kernels on cpu and wasm; they also copy their
  // kwargs like StateInit*, so a decoder layer can take its initial state in training mode.
  switch (spec.family) {
    case 'simple-rnn':
      return new FusedSimpleRNN(args);
    case 'lstm':
      return new FusedLSTM({ ...args, recurrentActivation: spec.recurrentActivation, unitForgetBias: true });
    case 'gru':
      return new FusedGRU({ ...args, recurrentActivation: spec.recurrentActivation });
  }
}

function statesPerLayer(spec: RecurrentSpec): number {
  return spec.family === 'lstm' ? 2 : 1;
}

/**
 * Stacked recurrent layers. tfjs's Bidirectional builds its backward layer from the forward
 * layer's config, so both directions start from the same initial weights; they see the
 * sequence in opposite orders, which breaks the symmetry from the first step.
 */
function recurrentStack(
  x: tf.SymbolicTensor,
  spec: RecurrentSpec,
  init: SeededInitializers,
  opts: { bidirectional: boolean; lastReturnsSequences: boolean; returnStates: boolean },
): StackOutput {
  const states: tf.SymbolicTensor[][] = [];
  const perLayer = statesPerLayer(spec);
  for (let i = 0; i < spec.layers; i++) {
    const last = i === spec.layers - 1;
    const returnSequences = !last || opts.lastReturnsSequences;
    const rnn = recurrentLayer(spec, init, spec.units, returnSequences, opts.returnStates);
    // With returnState, tfjs' executor calls the wrapper once per output (5 for an LSTM):
    // MemoBidirectional serves the repeats from its first call (layers/memo-bidirectional.ts).
    const wrap = (args: { layer: tf.layers.RNN; mergeMode: 'concat' }) => (opts.returnStates ? new MemoBidirectional(args) : tf.layers.bidirectional(args));
    const layer = opts.bidirectional ? wrap({ layer: rnn, mergeMode: 'concat' }) : rnn;
    const out = layer.apply(x);
    if (opts.returnStates) {
      const list = out as tf.SymbolicTensor[];
      x = list[0];
      const layerStates = list.slice(1);
      if (opts.bidirectional) {
        const forward = layerStates.slice(0, perLayer);
        const backward = layerStates.slice(perLayer);
        states.push(forward.map((f, j) => call(tf.layers.concatenate(), [f, backward[j]])));
      } else {
        states.push(layerStates);
      }
    } else {
      x = out as tf.SymbolicTensor;
    }
    if (spec.dropout > 0) x = call(new SeededDropout({ rate: spec.dropout }), x);
  }
  return { output: x, states };
}

function buildRecurrentClassifier(spec: RecurrentSpec, info: TaskInfo, init: SeededInitializers): tf.LayersModel {
  expectInputs(info, 1, spec.family);
  const input = modelInput(info.inputSpecs[0]);
  let x = input;
  if (isTokenInput(info.inputSpecs[0])) {
    x = call(
      tf.layers.embedding({
        inputDim: inputVocabulary(info, spec.family),
        outputDim: spec.embeddingDim,
        embeddingsInitializer: init.uniform(0.05),
        // tfjs masks id 0 only; any other padding id is read as a token.
        maskZero: info.padId === 0,
      }),
      x,
    );
  } else if (info.inputSpecs[0].shape.length !== 2) {
    throw new Error(`${spec.family}: float input must be [time, features] (got [${info.inputSpecs[0].shape.join(', ')}])`);
  }
  const { output } = recurrentStack(x, spec, init, {
    bidirectional: spec.bidirectional,
    lastReturnsSequences: false,
    returnStates: false,
  });
  const logits = call(tf.layers.dense({ units: outputUnits(info), kernelInitializer: init.glorotUniform(), name: 'head' }), output);
  return tf.model({ inputs: input, outputs: logits, name: spec.family });
}

function buildRecurrentLanguageModel(spec: RecurrentSpec, info: TaskInfo, init: SeededInitializers): tf.LayersModel {
  expectInputs(info, 1, spec.family);
  if (spec.bidirectional) {
    throw new Error(`model.bidirectional: a language model predicts the next token and must not see it; set bidirectional to false`);
  }
  const input = modelInput(info.inputSpecs[0]);
  const embedded = call(
    tf.layers.embedding({
      inputDim: inputVocabulary(info, spec.family),
      outputDim: spec.embeddingDim,
      embeddingsInitializer: init.uniform(0.05),
    }),
    input,
  );
  const { output } = recurrentStack(embedded, spec, init, { bidirectional: false, lastReturnsSequences: true, returnStates: false });
  const logits = call(tf.layers.dense({ units: info.numClasses, kernelInitializer: init.glorotUniform(), name: 'head' }), output);
  return tf.model({ inputs: input, outputs: logits, name: spec.family });
}

function buildRecurrentSeq2Seq(spec: RecurrentSpec, info: TaskInfo, init: SeededInitializers): tf.LayersModel {
  expectInputs(info, 2, spec.family);
  const [encoderSpec, decoderSpec] = info.inputSpecs;
  const encoderIds = modelInput(encoderSpec);
  const decoderIds = modelInput(decoderSpec);
  const encoderEmbedded = call(
    tf.layers.embedding({
      inputDim: inputVocabulary(info, spec.family),
      outputDim: spec.embeddingDim,
      embeddingsInitializer: init.uniform(0.05),
    }),
    encoderIds,
  );
  const encoder = recurrentStack(encoderEmbedded, spec, init, {
    bidirectional: spec.bidirectional,
    lastReturnsSequences: true,
    returnStates: true,
  });
  // The decoder is as wide as the encoder's (concatenated) states so they can initialise it.
  const decoderUnits = spec.units * (spec.bidirectional ? 2 : 1);
  let y = call(
    tf.layers.embedding({
      inputDim: vocabularyRows(info.numClasses, info),
      outputDim: spec.embeddingDim,
      embeddingsInitializer: init.uniform(0.05),
    }),
    decoderIds,
  );
  for (let i = 0; i < spec.layers; i++) {
    const rnn = recurrentLayer(spec, init, decoderUnits, true, false);
    y = call(rnn, y, { initialState: encoder.states[i] });
    if (spec.dropout > 0) y = call(new SeededDropout({ rate: spec.dropout }), y);
  }
  if (spec.attention) {
    const mask = call(new TokenPaddingMask({ padId: info.padId ?? 0 }), encoderIds);
    // A fresh key/value tensor, consumed only by the attention layer (see Identity).
    const memory = call(new Identity(), encoder.output);
    const context = call(new MultiHeadAttention({ numHeads: 1, keyDim: decoderUnits, seed: init.nextSeed() }), [y, memory, memory, mask]);
    y = call(
      tf.layers.dense({ units: decoderUnits, activation: 'tanh', kernelInitializer: init.glorotUniform(), name: 'attention_combine' }),
      call(tf.layers.concatenate(), [y, context]),
    );
  }
  const logits = call(tf.layers.dense({ units: info.numClasses, kernelInitializer: init.glorotUniform(), name: 'head' }), y);
  return tf.model({ inputs: [encoderIds, decoderIds], outputs: logits, name: `${spec.family}-seq2seq` });
}
