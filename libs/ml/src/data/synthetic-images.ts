import type { DatasetSpec } from '@tfleet/contracts';
import { classificationBaselines } from './baselines';
import type { DataSplit, TaskData } from './dataset';
import { assertFitsInMemory } from './memory-budget';
import { deriveSeed, SeededRandom } from './rng';
import { splitIndices } from './split';

type SyntheticImagesSpec = Extract<DatasetSpec, { name: 'synthetic-images' }>;
type ImageShape = Pick<SyntheticImagesSpec, 'height' | 'width' | 'channels' | 'classes' | 'noise'>;

/** Smooth waves summed into each class's pattern (the pixel loop is unrolled for four). */
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
 * Standard normal quantiles at (i + 0.5) / 65536, so one 16-bit random draw gives one
 * Gaussian value by table look-up: generating large images is dominated by the noise, and
 * this is several times faster than Box-Muller (tails are cut at about 4.3 sd, which pixel
 * noise does not need).
 */
const NORMAL_TABLE = Float32Array.from({ length: 65_536 }, (_, i) => normalQuantile((i + 0.5) / 65_536));

/** Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * Writes image `index` ([height, width, channels], a pure function of seed and index) at
 * `offset` and returns its label (index mod classes, so classes are balanced).
 */
function writeSyntheticImage(seed: number, index: number, shape: ImageShape, out: Float32Array, offset: number): number {
  const { height, width, channels, classes, noise } = shape;
  const label = index % classes;
  const waves = classWaves(seed, label, channels);
  const rng = new SeededRandom(deriveSeed(seed, index));
  const dy = Math.round((2 * rng.next() - 1) * MAX_SHIFT * height);
  const dx = Math.round((2 * rng.next() - 1) * MAX_SHIFT * width);
  const rowWidth = width * channels;
  // Per wave: its row factor, and its column factor times the channel weight for every (x, c).
  const rows = waves.map((w) => Float64Array.from({ length: height }, (_, y) => PATTERN_SCALE * Math.cos((2 * Math.PI * w.rowFrequency * (y + dy)) / height + w.rowPhase)));
  const columns = waves.map((w) => {
    const column = new Float64Array(rowWidth);
    for (let x = 0; x < width; x++) {
      const factor = Math.cos((2 * Math.PI * w.colFrequency * (x + dx)) / width + w.colPhase);
      for (let c = 0; c < channels; c++) column[x * channels + c] = factor * w.channelWeights[c]!;
    }
    return column;
  });
  const [c0, c1, c2, c3] = columns as [Float64Array, Float64Array, Float64Array, Float64Array];
  for (let y = 0; y < height; y++) {
    const start = offset + y * rowWidth;
    const r0 = rows[0]![y]!;
    const r1 = rows[1]![y]!;
    const r2 = rows[2]![y]!;
    const r3 = rows[3]![y]!;
    for (let j = 0; j < rowWidth; j++) {
      out[start + j] = 0.5 + r0 * c0[j]! + r1 * c1[j]! + r2 * c2[j]! + r3 * c3[j]!;
    }
    if (noise > 0) {
      // Two 16-bit table indices from each 32-bit draw.
      for (let j = 0; j < rowWidth; j += 2) {
        const bits = (rng.next() * 4294967296) >>> 0;
        out[start + j] += noise * NORMAL_TABLE[bits & 0xffff]!;
        if (j + 1 < rowWidth) out[start + j + 1] += noise * NORMAL_TABLE[bits >>> 16]!;
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
