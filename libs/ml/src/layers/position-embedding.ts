import * as tf from '@tensorflow/tfjs';
import type { LayerVariable } from './multi-head-attention';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number | null>;

function singleShape(inputShape: Shape | Shape[]): Shape {
  return Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : (inputShape as Shape);
}

function sequenceShape(shape: Shape, layer: string): { time: number | null; features: number } {
  const features = shape[2];
  if (shape.length !== 3 || features == null) {
    throw new Error(`${layer} input must have shape [batch, time, features] with known features (got [${shape.join(', ')}])`);
  }
  return { time: shape[1], features };
}

function singleInput(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor3D {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (x.rank !== 3) throw new Error(`input must be rank 3 [batch, time, features] (got [${x.shape}])`);
  return x as tf.Tensor3D;
}

export interface PositionEmbeddingArgs extends LayerArgs {
  /** Longest sequence the layer accepts: the number of learned position vectors. */
  sequenceLength: number;
  /** Seed of the glorot-uniform initialiser. */
  seed?: number;
}

/**
 * Learned position embedding: returns `inputs + P[0:T]` for inputs [B, T, D], where P is a
 * trainable [sequenceLength, D] table. Adding inside the layer (rather than returning P for a
 * separate Add layer) keeps one node and one broadcast per step.
 */
export class PositionEmbedding extends tf.layers.Layer {
  static className = 'TfleetPositionEmbedding';
  readonly sequenceLength: number;
  readonly seed: number | undefined;
  private table?: LayerVariable;

  constructor(args: PositionEmbeddingArgs) {
    super(args);
    if (!Number.isInteger(args.sequenceLength) || args.sequenceLength <= 0) {
      throw new Error(`sequenceLength must be a positive integer (got ${String(args.sequenceLength)})`);
    }
    this.sequenceLength = args.sequenceLength;
    this.seed = args.seed;
  }

  override build(inputShape: Shape | Shape[]): void {
    const { time, features } = sequenceShape(singleShape(inputShape), this.getClassName());
    if (time != null && time > this.sequenceLength) {
      throw new Error(`input time ${time} exceeds sequenceLength ${this.sequenceLength}`);
    }
    const init = tf.initializers.glorotUniform(this.seed === undefined ? {} : { seed: this.seed });
    this.table = this.addWeight('embeddings', [this.sequenceLength, features], 'float32', init);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return singleShape(inputShape).slice();
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs);
      if (!this.table) throw new Error(`${this.name} used before build()`);
      const [, time, features] = x.shape;
      if (time > this.sequenceLength) throw new Error(`input time ${time} exceeds sequenceLength ${this.sequenceLength}`);
      const table = this.table.read();
      const positions = time === this.sequenceLength ? table : table.slice([0, 0], [time, features]);
      return x.add(positions);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { sequenceLength: this.sequenceLength };
    if (this.seed !== undefined) config['seed'] = this.seed;
    return { ...super.getConfig(), ...config };
  }
}
tf.serialization.registerClass(PositionEmbedding);

export interface SinusoidalPositionEncodingArgs extends LayerArgs {
  /** Longest wavelength of the sin/cos pairs. @defaultValue 10000 */
  maxWavelength?: number;
}

/**
 * Fixed sinusoidal position encoding (Vaswani et al.): returns `inputs + PE[0:T]` with
 * PE[t, 2i] = sin(t / w^(2i/D)) and PE[t, 2i+1] = cos(t / w^(2i/D)). No weights.
 */
export class SinusoidalPositionEncoding extends tf.layers.Layer {
  static className = 'TfleetSinusoidalPositionEncoding';
  readonly maxWavelength: number;
  private readonly tables = new Map<string, Float32Array>();

  constructor(args: SinusoidalPositionEncodingArgs = {}) {
    super(args);
    this.maxWavelength = args.maxWavelength ?? 10000;
    if (!(this.maxWavelength > 1)) throw new Error(`maxWavelength must be > 1 (got ${this.maxWavelength})`);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = singleShape(inputShape);
    sequenceShape(shape, this.getClassName());
    return shape.slice();
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs);
      const [, time, features] = x.shape;
      return x.add(tf.tensor2d(this.table(time, features), [time, features]));
    });
  }

  /** The encoding table for (time, features), computed once in JS and cached. */
  table(time: number, features: number): Float32Array {
    const key = `${time}x${features}`;
    let table = this.tables.get(key);
    if (!table) {
      table = new Float32Array(time * features);
      for (let t = 0; t < time; t++) {
        for (let i = 0; i < features; i += 2) {
          const angle = t / Math.pow(this.maxWavelength, i / features);
          table[t * features + i] = Math.sin(angle);
          if (i + 1 < features) table[t * features + i + 1] = Math.cos(angle);
        }
      }
      this.tables.set(key, table);
    }
    return table;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), maxWavelength: this.maxWavelength };
  }
}
tf.serialization.registerClass(SinusoidalPositionEncoding);
