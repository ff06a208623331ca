import * as tf from '@tensorflow/tfjs';
import type { CheckpointPayload, ExperimentSpec, PredictInput, Prediction } from '@tfleet/contracts';
import { PREDICT_INPUT_KIND } from '@tfleet/contracts';
import { COPY_TOKENS } from '../data/copy';
import type { TaskInfo } from '../data/dataset';
import { loadDataset } from '../data/load-dataset';
import { messageTokens } from '../data/spam-assassin';
import { Tokenizer, Vocabulary, type VocabularyJSON } from '../data/tokenizer';
import { decodeSequences } from '../evaluation/decode';
import { buildModel } from '../models/build-model';
import { deserializeModel, restoreModelWeights } from '../training/checkpoint';

/** An input that does not fit the trained model; `field` names the part of the request body. */
export class PredictInputError extends Error {
  override name = 'PredictInputError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** A trained model ready to answer, with what it holds in memory. */
export interface Predictor {
  /** Bytes of its weights (what a cache counts). */
  readonly bytes: number;
  predict(input: PredictInput): Promise<Prediction>;
  dispose(): void;
}

/**
 * Builds the experiment's model from its spec and restores the checkpoint's weights into it,
 * as a resumed run does: rebuilding (rather than deserialising the saved topology) keeps what
 * tfjs-layers cannot serialise, such as a recurrent encoder's state handed to its decoder
 * (a fine-tuned BERT is the exception, see {@link trainedModel}).
 * The task's sizes and special ids come from loading the data set as training did, with the
 * vocabulary the checkpoint saved where the set has one.
 */
export async function loadPredictor(spec: ExperimentSpec, checkpoint: CheckpointPayload): Promise<Predictor> {
  const artifacts = objectOrEmpty(checkpoint.state['artifacts']);
  const savedTokenizer = objectOrEmpty(artifacts['tokenizer']);
  const vocabulary = spec.dataset.name === 'spam-assassin' ? (savedTokenizer['vocabulary'] as VocabularyJSON | undefined) : undefined;
  const data = loadDataset(spec.dataset, vocabulary ? { vocabulary } : {});
  const info: TaskInfo = {
    task: data.task,
    inputSpecs: data.inputSpecs,
    targetSpec: data.targetSpec,
    numClasses: data.numClasses,
    ...(data.inputVocabSize !== undefined ? { inputVocabSize: data.inputVocabSize } : {}),
    ...(data.padId !== undefined ? { padId: data.padId } : {}),
    ...(data.startId !== undefined ? { startId: data.startId } : {}),
    ...(data.endId !== undefined ? { endId: data.endId } : {}),
    ...(data.maskId !== undefined ? { maskId: data.maskId } : {}),
  };
  const model = await trainedModel(spec, info, checkpoint);
  const bytes = model.weights.reduce((sum, w) => sum + w.shape.reduce((a: number, b) => a * (b ?? 1), 1) * 4, 0);
  const answer = answererFor(spec, info, artifacts, model);
  return {
    bytes,
    predict: async (input) => {
      const expected = PREDICT_INPUT_KIND[spec.dataset.name];
      if (input.kind !== expected) throw new PredictInputError(input.kind, `a model trained on '${spec.dataset.name}' takes a '${expected}' input`);
      return answer(input);
    },
    dispose: () => model.dispose(),
  };
}

/**
 * A fine-tuned BERT takes its shape from the pretrained checkpoint, not from its own spec, so
 * it is loaded from its saved topology (whose layers all serialise); every other model is
 * rebuilt from its spec with the saved weights restored.
 */
async function trainedModel(spec: ExperimentSpec, info: TaskInfo, checkpoint: CheckpointPayload): Promise<tf.LayersModel> {
  if (spec.model.family === 'bert' && spec.model.pretrainedFrom !== undefined) return deserializeModel(checkpoint.model);
  const model = buildModel(spec.model, info, spec.training.seed);
  try {
    restoreModelWeights(model, checkpoint.model);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

type Answer = (input: PredictInput) => Promise<Prediction>;

function answererFor(spec: ExperimentSpec, info: TaskInfo, artifacts: Record<string, unknown>, model: tf.LayersModel): Answer {
  const labels = Array.isArray(artifacts['labels']) && artifacts['labels'].every((l) => typeof l === 'string') ? (artifacts['labels'] as string[]) : null;
  switch (spec.dataset.name) {
    case 'mnist':
    case 'synthetic-images':
      return async (input) => classify(model, imageTensor(input, info.inputSpecs[0]!.shape), labels);
    case 'spam-assassin': {
      const tokenizer = Tokenizer.fromJSON(artifacts['tokenizer']);
      const length = info.inputSpecs[0]!.shape[0]!;
      return async (input) => {
        if (input.kind !== 'text') throw new PredictInputError('text', 'expected a text');
        const raw = input.subject === undefined ? `\n\n${input.text}` : `Subject: ${input.subject}\n\n${input.text}`;
        const ids = new Int32Array(length).fill(info.padId ?? 0);
        ids.set(tokenizer.vocabulary.encode(messageTokens(raw).slice(0, length)));
        return classify(model, tf.tensor2d(ids, [1, length], 'int32'), labels);
      };
    }
    case 'adding':
      return async (input) => {
        if (input.kind !== 'sequence') throw new PredictInputError('sequence', 'expected a sequence');
        const [steps, features] = info.inputSpecs[0]!.shape as [number, number];
        const rowsFit = input.sequence.length === steps && input.sequence.every((row) => row.length === features);
        if (!rowsFit) throw new PredictInputError('sequence', `expected ${steps} steps of ${features} numbers each (this model's sequence length)`);
        const output = tf.tidy(() => model.predict(tf.tensor3d(Float32Array.from(input.sequence.flat()), [1, steps, features], 'float32')) as tf.Tensor);
        const value = (await output.data())[0]!;
        output.dispose();
        return { kind: 'value', value };
      };
    case 'brown':
      return continuation(spec, info, artifacts, model);
    case 'cmudict': {
      const letters = Vocabulary.fromJSON(artifacts['inputVocabulary']);
      const phonemes = Vocabulary.fromJSON(artifacts['outputVocabulary']);
      const encoderLength = info.inputSpecs[0]!.shape[0]!;
      return async (input) => {
        if (input.kind !== 'word') throw new PredictInputError('word', 'expected a word');
        const spelling = Array.from(input.word.toLowerCase());
        if (spelling.length > encoderLength) throw new PredictInputError('word', `expected a word of at most ${encoderLength} letters (this model's maxWordLength)`);
        const source = new Int32Array(encoderLength).fill(info.padId ?? 0);
        source.set(letters.encode(spelling));
        const [decoded] = await decodeSequences(model, info, source);
        return { kind: 'sequence', output: phonemes.decode(decoded ?? []) };
      };
    }
    case 'copy': {
      const copySpec = spec.dataset;
      return async (input) => {
        if (input.kind !== 'tokens') throw new PredictInputError('tokens', 'expected token ids');
        const fits = input.tokens.length === copySpec.sequenceLength && input.tokens.every((t) => t < copySpec.symbols);
        if (!fits) throw new PredictInputError('tokens', `expected ${copySpec.sequenceLength} symbols, each an integer in [0, ${copySpec.symbols})`);
        const source = new Int32Array(copySpec.sequenceLength + copySpec.delay + 1).fill(COPY_TOKENS.blank);
        input.tokens.forEach((t, i) => (source[i] = COPY_TOKENS.firstSymbol + t));
        source[source.length - 1] = COPY_TOKENS.recall;
        const [decoded] = await decodeSequences(model, info, source);
        return { kind: 'sequence', output: (decoded ?? []).map((id) => id - COPY_TOKENS.firstSymbol) };
      };
    }
  }
}

/** Softmax over the model's logits, classes sorted by probability. */
async function classify(model: tf.LayersModel, input: tf.Tensor, labels: readonly string[] | null): Promise<Prediction> {
  const probabilities = tf.tidy(() => tf.softmax(model.predict(input) as tf.Tensor2D));
  input.dispose();
  const values = Array.from((await probabilities.data()) as Float32Array);
  probabilities.dispose();
  const ranked = values
    .map((probability, i) => ({ label: labels?.[i] ?? String(i), probability }))
    .sort((a, b) => b.probability - a.probability);
  return { kind: 'classes', label: ranked[0]!.label, probabilities: ranked };
}

/** [1, H, W, C] from rows of pixels ([H][W], one channel) or of channel lists ([H][W][C]). */
function imageTensor(input: PredictInput, shape: readonly number[]): tf.Tensor4D {
  if (input.kind !== 'image') throw new PredictInputError('image', 'expected an image');
  const [height, width, channels] = shape as [number, number, number];
  const expected = `expected ${height} rows of ${width} ${channels === 1 ? 'numbers (pixel values, 0 to 1 as in training)' : `pixels of ${channels} numbers`}`;
  if (input.image.length !== height) throw new PredictInputError('image', `${expected}; got ${input.image.length} rows`);
  const values = new Float32Array(height * width * channels);
  input.image.forEach((row, y) => {
    if (row.length !== width) throw new PredictInputError(`image.${y}`, `${expected}; row ${y} has ${row.length}`);
    row.forEach((pixel, x) => {
      const channelValues = typeof pixel === 'number' ? [pixel] : pixel;
      if (channelValues.length !== channels) throw new PredictInputError(`image.${y}.${x}`, expected);
      values.set(channelValues, (y * width + x) * channels);
    });
  });
  return tf.tensor4d(values, [1, height, width, channels]);
}

/**
 * Greedy next words of a language model. A causal model reads the prompt's last window
 * right-padded and answers at its last position; a BERT (masked language model) is given the
 * window followed by `<mask>` and answers at the mask. Specials other than `<eos>` are never
 * chosen.
 */
function continuation(spec: ExperimentSpec, info: TaskInfo, artifacts: Record<string, unknown>, model: tf.LayersModel): Answer {
  const tokenizer = Tokenizer.fromJSON(artifacts['tokenizer']);
  const vocabulary = tokenizer.vocabulary;
  const window = info.inputSpecs[0]!.shape[0]!;
  const padId = info.padId ?? 0;
  const masked = spec.model.family === 'bert';
  const allowed = new Float32Array(vocabulary.size).map((_, id) => (id >= vocabulary.specials || id === info.endId ? 0 : -Infinity));
  return async (input) => {
    if (input.kind !== 'prompt') throw new PredictInputError('prompt', 'expected a prompt');
    const ids = Array.from(tokenizer.encode(input.prompt));
    if (ids.length === 0) throw new PredictInputError('prompt', `expected at least one ${tokenizer.level === 'word' ? 'word' : 'character'}`);
    const next: number[] = [];
    for (let n = 0; n < input.count; n++) {
      const context = ids.slice(-(masked ? window - 1 : window));
      if (masked) context.push(info.maskId ?? padId);
      const row = new Int32Array(window).fill(padId);
      row.set(context);
      const at = context.length - 1;
      const scores = tf.tidy(() => {
        const logits = model.predict(tf.tensor2d(row, [1, window], 'int32')) as tf.Tensor3D;
        return logits.slice([0, at, 0], [1, 1, vocabulary.size]).reshape([vocabulary.size]).add(tf.tensor1d(allowed));
      });
      const values = (await scores.data()) as Float32Array;
      scores.dispose();
      let best = 0;
      for (let id = 1; id < values.length; id++) if (values[id]! > values[best]!) best = id;
      next.push(best);
      ids.push(best);
    }
    const words = vocabulary.decode(next);
    return { kind: 'continuation', next: words, text: `${input.prompt}${tokenizer.level === 'word' ? ' ' : ''}${words.join(tokenizer.level === 'word' ? ' ' : '')}` };
  };
}

function objectOrEmpty(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
