import type { DatasetSpec } from '@tfleet/contracts';
import { classificationBaselines } from './baselines';
import type { DataSplit, TaskData } from './dataset';
import { assertFitsInMemory } from './memory-budget';
import { deriveSeed, SeededRandom } from './rng';
import { splitIndices } from './split';

type SyntheticImagesSpec = Extract<DatasetSpec, { name: 'synthetic-images' }>;
type ImageShape = Pick<SyntheticImagesSpec, 'height' | 'width' | 'channels' | 'classes' | 'noise'>;

/** Smooth waves summed into each class's pattern. */
const COMPONENTS = 4;
/**
 * Each wave product has variance 1/12 (two cosines times a uniform channel weight), so four
 * of them scaled by 0.4 give a pattern of standard deviation about 0.23 around 0.5: images
 * mostly in [0, 1] before noise, the default noise (0.5) then makes single pixels unreliable.
 */
const PATTERN_SCALE = 0.4;
/** Largest random shift of a sample's pattern, as a fraction of the image side. */
const MAX_SHIFT = 1 / 16;

interface Wave {
  rowFrequency: number;
  rowPhase: number;
  colFrequency: number;
  colPhase: number;
  channelWeights: Float64Array;
}

/**
 * A class pattern is a sum of separable low-frequency waves cos(y) * cos(x) * w[channel]
 * (1 to 4 periods across the image), cheap to evaluate at any size. Each sample shifts its
 * class pattern a little and adds Gaussian noise, so classes are learnable but not trivial.
 */
function classWaves(seed: number, label: number, channels: number): Wave[] {
  const rng = new SeededRandom(deriveSeed(seed, 0xc1a55, label));
  return Array.from({ length: COMPONENTS }, () => ({
    rowFrequency: 1 + rng.int(4),
    rowPhase: rng.next() * 2 * Math.PI,
    colFrequency: 1 + rng.int(4),
    colPhase: rng.next() * 2 * Math.PI,
    channelWeights: Float64Array.from({ length: channels }, () => 2 * rng.next() - 1),
  }));
}

/**
 * Writes image `index` ([height, width, channels], a pure function of seed and index) at
 * `offset` and returns its label (index mod classes, so classes are balanced).
 */
export function writeSyntheticImage(seed: number, index: number, shape: ImageShape, out: Float32Array, offset: number): number {
  const { height, width, channels, classes, noise } = shape;
  const label = index % classes;
  const waves = classWaves(seed, label, channels);
  const rng = new SeededRandom(deriveSeed(seed, index));
  const dy = Math.round((2 * rng.next() - 1) * MAX_SHIFT * height);
  const dx = Math.round((2 * rng.next() - 1) * MAX_SHIFT * width);
  const rows = waves.map((w) => Float64Array.from({ length: height }, (_, y) => Math.cos((2 * Math.PI * w.rowFrequency * (y + dy)) / height + w.rowPhase)));
  const cols = waves.map((w) => Float64Array.from({ length: width }, (_, x) => Math.cos((2 * Math.PI * w.colFrequency * (x + dx)) / width + w.colPhase)));
  let spare: number | undefined;
  const gaussian = (): number => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - rng.next()));
    const angle = 2 * Math.PI * rng.next();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
  let p = offset;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let value = 0;
        for (let k = 0; k < COMPONENTS; k++) value += rows[k]![y]! * cols[k]![x]! * waves[k]!.channelWeights[c]!;
        out[p++] = 0.5 + PATTERN_SCALE * value + (noise > 0 ? noise * gaussian() : 0);
      }
    }
  }
  return label;
}

function generateSplit(seed: number, indices: Int32Array, shape: ImageShape): DataSplit {
  const pixels = shape.height * shape.width * shape.channels;
  const images = new Float32Array(indices.length * pixels);
  const labels = new Int32Array(indices.length);
  indices.forEach((index, i) => {
    labels[i] = writeSyntheticImage(seed, index, shape, images, i * pixels);
  });
  return { size: indices.length, inputs: [images], target: labels };
}

/** Generated images of any shape with learnable class structure, for scale tests. */
export function loadSyntheticImages(spec: SyntheticImagesSpec): TaskData {
  assertFitsInMemory('synthetic-images', spec.samples, spec.height * spec.width * spec.channels);
  const indices = splitIndices(spec.samples, spec);
  const seed = deriveSeed(spec.splitSeed, 0x1a6e);
  const train = generateSplit(seed, indices.train, spec);
  const validation = generateSplit(seed, indices.validation, spec);
  const test = generateSplit(seed, indices.test, spec);
  return {
    datasetName: 'synthetic-images',
    task: 'image-classification',
    inputSpecs: [{ name: 'image', shape: [spec.height, spec.width, spec.channels], dtype: 'float32' }],
    targetSpec: { name: 'label', shape: [], dtype: 'int32' },
    numClasses: spec.classes,
    train,
    validation,
    test,
    artifacts: {},
    baselines: () => classificationBaselines(train.target as Int32Array, test.target as Int32Array, spec.classes),
  };
}
