import * as tf from '@tensorflow/tfjs';

type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;
import { deriveSeed } from '../data/rng';

/**
 * Hands out seeded initializers, one fresh seed per layer, so the same spec and seed always
 * build the same initial weights (tfjs initializers are otherwise seeded from Math.random).
 */
export class SeededInitializers {
  private counter = 0;

  constructor(private readonly seed: number) {}

  private nextSeed(): number {
    return deriveSeed(this.seed, this.counter++) % 2 ** 31;
  }

  glorotUniform(): Initializer {
    return tf.initializers.glorotUniform({ seed: this.nextSeed() });
  }

  heNormal(): Initializer {
    return tf.initializers.heNormal({ seed: this.nextSeed() });
  }

  orthogonal(): Initializer {
    return tf.initializers.orthogonal({ seed: this.nextSeed() });
  }

  uniform(limit: number): Initializer {
    return tf.initializers.randomUniform({ minval: -limit, maxval: limit, seed: this.nextSeed() });
  }

  normal(stddev: number): Initializer {
    return tf.initializers.randomNormal({ mean: 0, stddev, seed: this.nextSeed() });
  }
}
