import { syntheticImagesDatasetSchema } from '@tfleet/contracts';
import { loadSyntheticImages, normalQuantile } from './synthetic-images';

describe('synthetic-images', () => {
  const spec = syntheticImagesDatasetSchema.parse({ name: 'synthetic-images', height: 12, width: 10, channels: 3, classes: 4, samples: 400 });
  const data = loadSyntheticImages(spec);

  it('generates [height, width, channels] float images with balanced int labels', () => {
    expect(data.inputSpecs).toEqual([{ name: 'image', shape: [12, 10, 3], dtype: 'float32' }]);
    expect(data.targetSpec).toEqual({ name: 'label', shape: [], dtype: 'int32' });
    expect(data.train.inputs[0]!.length).toBe(data.train.size * 360);
    expect(data.train.size + data.validation.size + data.test.size).toBe(400);
    const counts = [0, 0, 0, 0];
    for (const split of [data.train, data.validation, data.test]) for (const label of split.target) counts[label]!++;
    expect(counts).toEqual([100, 100, 100, 100]);
    expect(data.train.inputs[0]!.every(Number.isFinite)).toBe(true);
  });

  it('is deterministic for a spec and changes with the split seed', () => {
    expect(Array.from(loadSyntheticImages(spec).test.inputs[0]!)).toEqual(Array.from(data.test.inputs[0]!));
    expect(Array.from(loadSyntheticImages({ ...spec, splitSeed: 3 }).test.inputs[0]!)).not.toEqual(Array.from(data.test.inputs[0]!));
  });

  it('has class structure a nearest-centroid classifier picks up', () => {
    const pixels = 360;
    const centroids = new Float64Array(4 * pixels);
    const counts = new Float64Array(4);
    const x = data.train.inputs[0]!;
    data.train.target.forEach((label, i) => {
      counts[label]!++;
      for (let p = 0; p < pixels; p++) centroids[label * pixels + p]! += x[i * pixels + p]!;
    });
    for (let c = 0; c < 4; c++) for (let p = 0; p < pixels; p++) centroids[c * pixels + p]! /= counts[c]!;
    let hits = 0;
    const tx = data.test.inputs[0]!;
    data.test.target.forEach((label, i) => {
      let best = -1;
      let bestDistance = Infinity;
      for (let c = 0; c < 4; c++) {
        let d = 0;
        for (let p = 0; p < pixels; p++) d += (tx[i * pixels + p]! - centroids[c * pixels + p]!) ** 2;
        if (d < bestDistance) [best, bestDistance] = [c, d];
      }
      if (best === label) hits++;
    });
    expect(hits / data.test.size).toBeGreaterThan(0.6);
    expect(data.baselines()['majorityAccuracy']).toBeLessThan(0.4);
  });

  it('draws noise through an accurate normal quantile function', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
    // Two images of one class differ only by shift and noise: with no shift possible on a
    // 4x4 image, their difference has standard deviation noise * sqrt(2).
    const tiny = loadSyntheticImages(syntheticImagesDatasetSchema.parse({ name: 'synthetic-images', height: 4, width: 4, channels: 4, classes: 2, samples: 1_000, noise: 0.5 }));
    const x = tiny.train.inputs[0]!;
    const sameClass = Array.from(tiny.train.target.entries()).filter(([, label]) => label === 0).map(([i]) => i);
    let sum = 0;
    let n = 0;
    for (let k = 0; k + 1 < sameClass.length; k += 2) {
      for (let p = 0; p < 64; p++) {
        sum += (x[sameClass[k]! * 64 + p]! - x[sameClass[k + 1]! * 64 + p]!) ** 2;
        n++;
      }
    }
    expect(Math.sqrt(sum / n)).toBeCloseTo(0.5 * Math.SQRT2, 1);
  });

  it('refuses 224x224x3 at a size that would not fit, naming the largest that does', () => {
    const big = syntheticImagesDatasetSchema.parse({ name: 'synthetic-images', height: 224, width: 224, channels: 3 });
    expect(() => loadSyntheticImages(big)).toThrow('synthetic-images: 2000 samples of 150528 values (1148 MiB) exceed the 512 MiB in-memory limit per rank; use at most 891 samples at this size');
  });

  it('generates 224x224x3 images when the count fits', () => {
    const big = loadSyntheticImages(syntheticImagesDatasetSchema.parse({ name: 'synthetic-images', height: 224, width: 224, channels: 3, samples: 10 }));
    expect(big.train.inputs[0]!.length).toBe(big.train.size * 224 * 224 * 3);
  });
});
