import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DatasetSpec } from '@tfleet/contracts';
import type { TaskData } from './dataset';
import { classificationBaselines } from './baselines';
import { selectSplit, splitIndices } from './split';

type MnistSpec = Extract<DatasetSpec, { name: 'mnist' }>;

const IMAGE_SIZE = 28 * 28;
const DIGITS = 10;

interface MnistArrays {
  images: Float32Array;
  labels: Int32Array;
}

let cached: MnistArrays | undefined;

/**
 * Reads the 10,000 real digits shipped in the `mnist` package (one JSON file per digit, pixels
 * already scaled to [0, 1]). Read once per thread; the package's own API draws with
 * Math.random, so the files are read directly for a reproducible order.
 */
function readMnistDigits(): MnistArrays {
  if (cached) return cached;
  const root = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const perDigit: number[][] = [];
  let total = 0;
  for (let d = 0; d < DIGITS; d++) {
    const parsed = JSON.parse(readFileSync(join(root, `${d}.json`), 'utf8')) as { data?: unknown };
    if (!Array.isArray(parsed.data) || parsed.data.length % IMAGE_SIZE !== 0) {
      throw new Error(`mnist package: digits/${d}.json does not hold 28x28 images`);
    }
    perDigit.push(parsed.data as number[]);
    total += parsed.data.length / IMAGE_SIZE;
  }
  const images = new Float32Array(total * IMAGE_SIZE);
  const labels = new Int32Array(total);
  let offset = 0;
  perDigit.forEach((pixels, digit) => {
    images.set(pixels, offset * IMAGE_SIZE);
    labels.fill(digit, offset, offset + pixels.length / IMAGE_SIZE);
    offset += pixels.length / IMAGE_SIZE;
  });
  cached = { images, labels };
  return cached;
}

export function loadMnist(spec: MnistSpec): TaskData {
  const all = readMnistDigits();
  const { train, validation, test } = splitIndices(all.labels.length, spec, spec.samples);
  const pick = (indices: Int32Array) =>
    selectSplit([{ data: all.images, width: IMAGE_SIZE }], { data: all.labels, width: 1 }, indices);
  const splits = { train: pick(train), validation: pick(validation), test: pick(test) };
  return {
    datasetName: 'mnist',
    task: 'image-classification',
    inputSpecs: [{ name: 'image', shape: [28, 28, 1], dtype: 'float32' }],
    targetSpec: { name: 'label', shape: [], dtype: 'int32' },
    numClasses: DIGITS,
    ...splits,
    artifacts: {},
    baselines: () => classificationBaselines(splits.train.target as Int32Array, splits.test.target as Int32Array, DIGITS),
  };
}
