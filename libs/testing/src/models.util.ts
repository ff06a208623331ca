import * as tf from '@tensorflow/tfjs';
import type { TaskKind } from '@tfleet/contracts';
import { perSampleLoss, SeededRandom, type TaskInfo } from '@tfleet/ml';

/**
 * Tiny task descriptions and random batches for model tests, so model tests do not depend on
 * the data loaders. Token layouts follow the loaders: id 0 pads, seq2seq decoder inputs start
 * with startId and targets end with endId then padding.
 */
export function tinyTaskInfo(task: TaskKind): TaskInfo {
  switch (task) {
    case 'image-classification':
      return {
        task,
        inputSpecs: [{ name: 'image', shape: [12, 12, 1], dtype: 'float32' }],
        targetSpec: { name: 'label', shape: [], dtype: 'int32' },
        numClasses: 3,
      };
    case 'sequence-classification':
      return {
        task,
        inputSpecs: [{ name: 'tokens', shape: [10], dtype: 'int32' }],
        targetSpec: { name: 'label', shape: [], dtype: 'int32' },
        numClasses: 2,
        inputVocabSize: 20,
        padId: 0,
      };
    case 'language-modelling':
      return {
        task,
        inputSpecs: [{ name: 'tokens', shape: [8], dtype: 'int32' }],
        targetSpec: { name: 'next', shape: [8], dtype: 'int32' },
        numClasses: 16,
        inputVocabSize: 16,
        padId: 0,
        maskId: 16,
      };
    case 'seq2seq':
      return {
        task,
        inputSpecs: [
          { name: 'source', shape: [6], dtype: 'int32' },
          { name: 'decoder_input', shape: [7], dtype: 'int32' },
        ],
        targetSpec: { name: 'target', shape: [7], dtype: 'int32' },
        numClasses: 9,
        inputVocabSize: 12,
        padId: 0,
        startId: 1,
        endId: 2,
      };
    case 'sequence-regression':
      return {
        task,
        inputSpecs: [{ name: 'sequence', shape: [12, 2], dtype: 'float32' }],
        targetSpec: { name: 'sum', shape: [], dtype: 'float32' },
        numClasses: 1,
      };
  }
}

export interface Batch {
  inputs: tf.Tensor[];
  target: tf.Tensor;
}

/** A random batch in the task's layout (with real padding in token sequences). */
export function randomBatch(info: TaskInfo, size: number, seed: number): Batch {
  const rng = new SeededRandom(seed);
  const pad = info.padId ?? 0;
  const tokens = (length: number, vocab: number, low: number, padTail: boolean): number[] => {
    const realLength = padTail ? 1 + rng.int(length) : length;
    return Array.from({ length }, (_, t) => (t < realLength ? low + rng.int(vocab - low) : pad));
  };
  switch (info.task) {
    case 'image-classification': {
      const shape = info.inputSpecs[0].shape;
      const n = shape.reduce((a, b) => a * b, 1);
      const image = Float32Array.from({ length: size * n }, () => rng.next());
      const labels = Int32Array.from({ length: size }, () => rng.int(info.numClasses));
      return { inputs: [tf.tensor(image, [size, ...shape])], target: tf.tensor1d(labels, 'int32') };
    }
    case 'sequence-classification': {
      const t = info.inputSpecs[0].shape[0];
      const ids = Array.from({ length: size }, () => tokens(t, info.inputVocabSize ?? 2, 1, true)).flat();
      const labels = Int32Array.from({ length: size }, () => rng.int(info.numClasses));
      return { inputs: [tf.tensor2d(ids, [size, t], 'int32')], target: tf.tensor1d(labels, 'int32') };
    }
    case 'language-modelling': {
      const t = info.inputSpecs[0].shape[0];
      const stream = Array.from({ length: size }, () => tokens(t + 1, info.numClasses, 1, false));
      return {
        inputs: [tf.tensor2d(stream.map((s) => s.slice(0, t)).flat(), [size, t], 'int32')],
        target: tf.tensor2d(stream.map((s) => s.slice(1)).flat(), [size, t], 'int32'),
      };
    }
    case 'seq2seq': {
      const te = info.inputSpecs[0].shape[0];
      const td = info.inputSpecs[1].shape[0];
      const start = info.startId ?? 1;
      const end = info.endId ?? 2;
      const source: number[] = [];
      const decoderInput: number[] = [];
      const target: number[] = [];
      for (let b = 0; b < size; b++) {
        source.push(...tokens(te, info.inputVocabSize ?? 4, 3, true));
        const length = 1 + rng.int(td - 1);
        const out = Array.from({ length }, () => 3 + rng.int(info.numClasses - 3));
        const tgt = [...out, end];
        const dec = [start, ...out];
        for (let t = 0; t < td; t++) {
          target.push(tgt[t] ?? pad);
          decoderInput.push(dec[t] ?? pad);
        }
      }
      return {
        inputs: [tf.tensor2d(source, [size, te], 'int32'), tf.tensor2d(decoderInput, [size, td], 'int32')],
        target: tf.tensor2d(target, [size, td], 'int32'),
      };
    }
    case 'sequence-regression': {
      const [t, f] = info.inputSpecs[0].shape;
      const values = Float32Array.from({ length: size * t * f }, () => rng.next());
      const target = Float32Array.from({ length: size }, () => rng.next());
      return { inputs: [tf.tensor3d(values, [size, t, f])], target: tf.tensor1d(target) };
    }
  }
}

/** The training loop's loss: mean over samples of the per-task per-sample loss. */
export function taskLoss(info: TaskInfo, output: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => perSampleLoss(info, output, target).mean() as tf.Scalar);
}

/**
 * Runs `steps` Adam steps on one batch and returns the inference-mode loss before each step and
 * after the last. Inference mode keeps dropout out of the figures (tfjs dropout is unseeded), so
 * "the loss went down" cannot fail by chance.
 */
export function trainSteps(model: tf.LayersModel, info: TaskInfo, batch: Batch, steps: number, learningRate = 0.01): number[] {
  const optimizer: tf.Optimizer = tf.train.adam(learningRate);
  const evalLoss = () => tf.tidy(() => taskLoss(info, model.apply(batch.inputs, { training: false }) as tf.Tensor, batch.target).dataSync()[0]);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    losses.push(evalLoss());
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.apply(batch.inputs, { training: true }) as tf.Tensor;
      return taskLoss(info, logits, batch.target);
    });
    optimizer.applyGradients(grads);
    value.dispose();
    tf.dispose(grads);
  }
  losses.push(evalLoss());
  optimizer.dispose();
  return losses;
}

/** Saves a model to memory and loads it back, as checkpoints do. */
export async function saveAndLoad(model: tf.LayersModel): Promise<tf.LayersModel> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts) throw new Error('model was not saved');
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

/** Largest absolute difference between two models' outputs on the same inputs. */
export function maxOutputDifference(a: tf.LayersModel, b: tf.LayersModel, inputs: tf.Tensor[]): number {
  return tf.tidy(() => {
    const ya = a.predict(inputs) as tf.Tensor;
    const yb = b.predict(inputs) as tf.Tensor;
    return ya.sub(yb).abs().max().dataSync()[0];
  });
}

export function disposeBatch(batch: Batch): void {
  tf.dispose([...batch.inputs, batch.target]);
}

export interface StandardCheckResult {
  outputShape: number[];
  losses: number[];
  roundTripDifference: number;
  leakedTensors: number;
}

/**
 * What every model test checks: output shape on a batch, a few training steps on that batch,
 * a save/load round trip (largest output difference), and tensors left behind by all of it.
 */
export async function standardChecks(model: tf.LayersModel, info: TaskInfo, steps = 8, learningRate = 0.02): Promise<StandardCheckResult> {
  const batch = randomBatch(info, 4, 11);
  const before = tf.memory().numTensors;
  const outputShape = tf.tidy(() => (model.predict(batch.inputs) as tf.Tensor).shape);
  const losses = trainSteps(model, info, batch, steps, learningRate);
  const loaded = await saveAndLoad(model);
  const roundTripDifference = maxOutputDifference(model, loaded, batch.inputs);
  loaded.dispose();
  const leakedTensors = tf.memory().numTensors - before;
  disposeBatch(batch);
  return { outputShape, losses, roundTripDifference, leakedTensors };
}

/** Output shape a task's model must produce for a batch. */
export function expectedOutputShape(info: TaskInfo, batch: number): number[] {
  switch (info.task) {
    case 'image-classification':
    case 'sequence-classification':
      return [batch, info.numClasses];
    case 'sequence-regression':
      return [batch, 1];
    case 'language-modelling':
      return [batch, info.inputSpecs[0].shape[0], info.numClasses];
    case 'seq2seq':
      return [batch, info.inputSpecs[1].shape[0], info.numClasses];
  }
}
