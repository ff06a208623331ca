import * as tf from '@tensorflow/tfjs';
import { type DropoutKey, dropoutMask, SeededDropout, seededDropout, withDropoutKey } from './seeded-dropout';

const key = (over: Partial<DropoutKey> = {}): DropoutKey => ({ seed: 5, step: 3, firstSample: 0, samples: 4, ...over });

function maskValues(k: DropoutKey, call: number, shape: number[], rate: number): Float32Array {
  const mask = dropoutMask(k, call, shape, rate);
  const values = mask.dataSync() as Float32Array;
  mask.dispose();
  return values;
}

describe('seeded dropout', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('draws the same mask for the same key and call, and another for another step, seed or call', () => {
    const base = maskValues(key(), 0, [4, 50], 0.5);
    expect(maskValues(key(), 0, [4, 50], 0.5)).toEqual(base);
    for (const other of [maskValues(key({ step: 4 }), 0, [4, 50], 0.5), maskValues(key({ seed: 6 }), 0, [4, 50], 0.5), maskValues(key(), 1, [4, 50], 0.5)]) {
      expect(other).not.toEqual(base);
    }
  });

  it('gives each sample the mask of its position in the global batch, however the batch is split', () => {
    const whole = maskValues(key({ samples: 6 }), 2, [6, 3, 5], 0.3);
    const firstRank = maskValues(key({ firstSample: 0, samples: 2 }), 2, [2, 3, 5], 0.3);
    const secondRank = maskValues(key({ firstSample: 2, samples: 4 }), 2, [4, 3, 5], 0.3);
    expect(Array.from(whole)).toEqual([...firstRank, ...secondRank]);
    // A leading axis that is a multiple of the samples (attention's [B * heads, Tq, Tk]) keeps
    // each sample's block together.
    const heads = maskValues(key({ samples: 2 }), 0, [2 * 3, 4], 0.3);
    const oneSample = maskValues(key({ firstSample: 1, samples: 1 }), 0, [3, 4], 0.3);
    expect(Array.from(heads.subarray(12))).toEqual(Array.from(oneSample));
  });

  it('keeps about 1 - rate of the elements, scaled by 1 / (1 - rate)', () => {
    const rate = 0.25;
    const values = maskValues(key({ samples: 8 }), 0, [8, 1000], rate);
    const kept = values.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / (1 - rate)) < 1e-6)).toBe(true);
    expect(kept.length / values.length).toBeGreaterThan(0.73);
    expect(kept.length / values.length).toBeLessThan(0.77);
  });

  it('refuses a tensor whose leading axis is not a multiple of the samples', () => {
    expect(() => dropoutMask(key({ samples: 3 }), 0, [4, 2], 0.5)).toThrow(/not a multiple of the batch's 3 samples/);
    expect(() => withDropoutKey(key({ samples: 0 }), () => 0)).toThrow(/positive integer/);
  });

  it('multiplies by the mask forward and backward, leaks nothing, and numbers its calls per forward pass', () => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([4, 6], 0, 1, 'float32', 1);
    const { value, grad } = withDropoutKey(key(), () =>
      tf.valueAndGrad((input: tf.Tensor) => {
        const first = seededDropout(input, 0.5);
        return tf.sum(seededDropout(first, 0.5));
      })(x),
    );
    const masks = [maskValues(key(), 0, [4, 6], 0.5), maskValues(key(), 1, [4, 6], 0.5)];
    const xs = x.dataSync();
    const g = grad.dataSync();
    let expected = 0;
    for (let i = 0; i < xs.length; i++) {
      const m = masks[0]![i]! * masks[1]![i]!;
      expected += xs[i]! * m;
      expect(g[i]).toBeCloseTo(m, 6);
    }
    expect(value.dataSync()[0]).toBeCloseTo(expected, 4);
    tf.dispose([x, value, grad]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is the identity outside training, and tfjs dropout when no key is active', () => {
    const layer = new SeededDropout({ rate: 0.5 });
    const x = tf.ones([4, 100]);
    const inference = tf.tidy(() => Array.from((layer.apply(x, { training: false }) as tf.Tensor).dataSync()));
    expect(inference.every((v) => v === 1)).toBe(true);
    const unkeyed = tf.tidy(() => Array.from((layer.apply(x, { training: true }) as tf.Tensor).dataSync()));
    expect(unkeyed.every((v) => v === 0 || v === 2)).toBe(true);
    expect(unkeyed.some((v) => v === 0)).toBe(true);
    const keyed = tf.tidy(() => Array.from(withDropoutKey(key(), () => layer.apply(x, { training: true }) as tf.Tensor).dataSync()));
    expect(keyed).toEqual(Array.from(maskValues(key(), 0, [4, 100], 0.5)));
    x.dispose();
  });

  it('serializes its rate, passes masks through, and rejects a rate outside [0, 1)', async () => {
    const input = tf.input({ shape: [3] });
    const output = new SeededDropout({ rate: 0.2 }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (saved) => {
      artifacts = saved;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const restored = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    expect(restored.layers[1]!.getClassName()).toBe('TfleetDropout');
    expect(restored.layers[1]!.getConfig()['rate']).toBe(0.2);
    expect(new SeededDropout({ rate: 0.1 }).supportsMasking).toBe(true);
    expect(() => new SeededDropout({ rate: 1 })).toThrow(/\[0, 1\)/);
    restored.dispose();
    model.dispose();
  });
});
