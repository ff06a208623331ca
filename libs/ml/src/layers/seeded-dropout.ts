import * as tf from '@tensorflow/tfjs';
import { deriveSeed, SeededRandom } from '../data/rng';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/**
 * What a training step's dropout masks are drawn from. The batch being run holds the samples at
 * positions `firstSample .. firstSample + samples - 1` of the step's global batch; each sample's
 * mask is a function of (seed, step, that position, which dropout call of the forward pass)
 * only. It never depends on the rank or the micro-batch that trains the sample, so a run on
 * N ranks draws the masks of a run on one, and a run resumed at step s draws what the
 * uninterrupted run drew at step s.
 */
export interface DropoutKey {
  seed: number;
  /** Optimizer step of the whole run (0-based), as the training cursor counts it. */
  step: number;
  /** Position in the global batch of the first sample of this (micro-)batch. */
  firstSample: number;
  /** Samples in this (micro-)batch: the leading axis of every tensor dropout sees is this, or a multiple of it laid out sample-major. */
  samples: number;
}

/** Salt that keeps dropout streams apart from the other seeded streams of a run. */
const DROPOUT_SALT = 0xd7095;

interface ActiveKey {
  key: DropoutKey;
  /** Dropout calls made so far in this forward pass: the k-th call draws stream k. */
  calls: number;
}

let active: ActiveKey | null = null;

/**
 * Runs `forward` with dropout masks drawn from `key`. Dropout calls inside it (the layers'
 * `call`, on this thread) take their masks in call order, which a model's topology fixes. Not
 * re-entrant across awaits: `forward` must be synchronous, as a tfjs forward pass is.
 */
export function withDropoutKey<T>(key: DropoutKey, forward: () => T): T {
  if (!Number.isInteger(key.samples) || key.samples <= 0) throw new Error(`DropoutKey.samples must be a positive integer (got ${key.samples})`);
  const previous = active;
  active = { key, calls: 0 };
  try {
    return forward();
  } finally {
    active = previous;
  }
}

/**
 * Inverted dropout at `rate`: kept elements are scaled by 1 / (1 - rate). Inside
 * {@link withDropoutKey} the mask is the key's (deterministic); outside it, tfjs' unseeded
 * `tf.dropout` (a fresh random mask per call).
 */
export function seededDropout(x: tf.Tensor, rate: number): tf.Tensor {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate must be in [0, 1) (got ${rate})`);
  if (rate === 0) return x;
  if (active === null) return tf.dropout(x, rate);
  const { key } = active;
  const call = active.calls++;
  return tf.tidy(() => tf.mul(x, dropoutMask(key, call, x.shape, rate)));
}

/**
 * The scaled mask (0 or 1 / (1 - rate) per element) of dropout call `call` under `key`, for a
 * tensor of `shape` whose leading axis is the key's samples (or a multiple of them,
 * sample-major): each sample's block of elements comes from its own stream.
 */
export function dropoutMask(key: DropoutKey, call: number, shape: readonly number[], rate: number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const lead = shape[0] ?? 1;
  if (shape.length === 0 || lead % key.samples !== 0) {
    throw new Error(`seeded dropout: the leading axis of [${shape.join(', ')}] is not a multiple of the batch's ${key.samples} samples`);
  }
  const perSample = size / key.samples;
  const keep = 1 - rate;
  const scale = 1 / keep;
  const mask = new Float32Array(size);
  for (let s = 0; s < key.samples; s++) {
    const rng = new SeededRandom(deriveSeed(key.seed, DROPOUT_SALT, key.step, key.firstSample + s, call));
    const from = s * perSample;
    for (let j = 0; j < perSample; j++) mask[from + j] = rng.next() < keep ? scale : 0;
  }
  return tf.tensor(mask, [...shape], 'float32');
}

export interface SeededDropoutArgs extends LayerArgs {
  /** Fraction of the inputs dropped while training, in [0, 1). */
  rate: number;
}

/**
 * tf.layers.dropout's behaviour (inverted dropout while training, identity otherwise, masks
 * passed through) with masks from the training step's {@link DropoutKey}: a resumed run and a
 * run on any number of ranks drop exactly what the uninterrupted one-rank run drops. tfjs' own
 * dropout is unseeded, or, seeded, draws the same mask at every call.
 */
export class SeededDropout extends tf.layers.Layer {
  static className = 'TfleetDropout';
  readonly rate: number;

  constructor(args: SeededDropoutArgs) {
    super(args);
    if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`dropout rate must be in [0, 1) (got ${args.rate})`);
    this.rate = args.rate;
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (kwargs['training'] !== true || this.rate === 0) return x;
    return seededDropout(x, this.rate);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}
tf.serialization.registerClass(SeededDropout);
