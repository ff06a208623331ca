import * as tf from '@tensorflow/tfjs';
import { deriveSeed, SeededRandom } from '../data/rng';

type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

/** tfjs-layers does not export its Initializer base class by name; `getInitializer` needs instanceof it. */
const InitializerBase = Object.getPrototypeOf(tf.initializers.zeros().constructor) as (abstract new () => Initializer) &
  Pick<typeof tf.serialization.Serializable, 'fromConfig'>;

/**
 * A random orthogonal matrix (Saxe et al.), seeded, computed by Gram-Schmidt in plain JS.
 * tfjs's own `orthogonal` runs a QR through tensor ops and took 24 s for the 128x512 recurrent
 * kernel of a default LSTM on this machine; this takes milliseconds.
 */
class SeededOrthogonal extends InitializerBase {
  static className = 'TfleetSeededOrthogonal';

  constructor(readonly args: { seed: number; gain?: number }) {
    super();
  }

  override apply(shape: number[], dtype?: tf.DataType): tf.Tensor {
    if (shape.length < 2) throw new Error(`orthogonal initializer needs a matrix shape (got [${shape.join(', ')}])`);
    const cols = shape[shape.length - 1];
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const values = orthogonalMatrix(rows, cols, this.args.seed, this.args.gain ?? 1);
    return tf.tensor(values, shape, dtype ?? 'float32');
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { seed: this.args.seed, gain: this.args.gain ?? 1 };
  }
}
tf.serialization.registerClass(SeededOrthogonal);

/** Row-major [rows, cols] matrix whose shorter side is orthonormal (times gain). */
function orthogonalMatrix(rows: number, cols: number, seed: number, gain = 1): Float32Array {
  // Orthonormalise the k = min(rows, cols) vectors of length n = max(rows, cols).
  const n = Math.max(rows, cols);
  const k = Math.min(rows, cols);
  const rng = new SeededRandom(seed);
  const vectors: Float64Array[] = [];
  for (let i = 0; i < k; i++) {
    const v = new Float64Array(n);
    for (;;) {
      for (let j = 0; j < n; j++) v[j] = rng.normal();
      // Two Gram-Schmidt passes keep the result orthogonal to float precision.
      for (let pass = 0; pass < 2; pass++) {
        for (const u of vectors) {
          let dot = 0;
          for (let j = 0; j < n; j++) dot += u[j] * v[j];
          for (let j = 0; j < n; j++) v[j] -= dot * u[j];
        }
      }
      let norm = 0;
      for (let j = 0; j < n; j++) norm += v[j] * v[j];
      norm = Math.sqrt(norm);
      if (norm > 1e-6) {
        for (let j = 0; j < n; j++) v[j] /= norm;
        break;
      }
    }
    vectors.push(v);
  }
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < k; i++) {
    const v = vectors[i];
    for (let j = 0; j < n; j++) {
      // rows >= cols: vector i is column i; otherwise it is row i.
      if (rows >= cols) out[j * cols + i] = gain * v[j];
      else out[i * cols + j] = gain * v[j];
    }
  }
  return out;
}

/**
 * Hands out seeded initializers, one fresh seed per layer, so the same spec and seed always
 * build the same initial weights (tfjs initializers are otherwise seeded from Math.random).
 */
export class SeededInitializers {
  private counter = 0;

  constructor(private readonly seed: number) {}

  /** A fresh seed for layers that take a seed rather than an initializer. */
  nextSeed(): number {
    return deriveSeed(this.seed, this.counter++) % 2 ** 31;
  }

  glorotUniform(): Initializer {
    return tf.initializers.glorotUniform({ seed: this.nextSeed() });
  }

  heNormal(): Initializer {
    return tf.initializers.heNormal({ seed: this.nextSeed() });
  }

  orthogonal(): Initializer {
    return new SeededOrthogonal({ seed: this.nextSeed() });
  }

  uniform(limit: number): Initializer {
    return tf.initializers.randomUniform({ minval: -limit, maxval: limit, seed: this.nextSeed() });
  }

  normal(stddev: number): Initializer {
    return tf.initializers.randomNormal({ mean: 0, stddev, seed: this.nextSeed() });
  }
}
