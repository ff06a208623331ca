import type { DatasetSpec, MetricValues } from '@tfleet/contracts';
import type { DataSplit, TaskData } from './dataset';
import { assertFitsInMemory } from './memory-budget';
import { deriveSeed, SeededRandom } from './rng';
import { splitIndices } from './split';

type AddingSpec = Extract<DatasetSpec, { name: 'adding' }>;

/**
 * Writes adding-problem sample `index` (a pure function of seed and index) into `input`
 * ([length, 2]: value in [0, 1), marker 0/1) and returns its target. As in the classic
 * setting one marker falls in the first half and one in the second, so the answer always
 * depends on a value about length/2 steps or more before the end.
 */
function writeAddingSample(seed: number, index: number, length: number, input: Float32Array, offset: number): number {
  const rng = new SeededRandom(deriveSeed(seed, index));
  for (let t = 0; t < length; t++) {
    input[offset + 2 * t] = rng.next();
    input[offset + 2 * t + 1] = 0;
  }
  const half = Math.floor(length / 2);
  const first = rng.int(half);
  const second = half + rng.int(length - half);
  input[offset + 2 * first + 1] = 1;
  input[offset + 2 * second + 1] = 1;
  return input[offset + 2 * first]! + input[offset + 2 * second]!;
}

function generateSplit(seed: number, indices: Int32Array, length: number): DataSplit {
  const input = new Float32Array(indices.length * length * 2);
  const target = new Float32Array(indices.length);
  indices.forEach((index, i) => {
    target[i] = writeAddingSample(seed, index, length, input, i * length * 2);
  });
  return { size: indices.length, inputs: [input], target };
}

/** Mean squared error of always answering 1.0, the expected sum (about 1/6). */
function constantPredictionMse(target: Float32Array, prediction = 1): number {
  let sum = 0;
  for (const y of target) sum += (y - prediction) ** 2;
  return target.length === 0 ? NaN : sum / target.length;
}

/** The adding problem: sequence regression whose answer depends on two far-apart steps. */
export function loadAdding(spec: AddingSpec): TaskData {
  const length = spec.sequenceLength;
  assertFitsInMemory('adding', spec.samples, length * 2);
  const indices = splitIndices(spec.samples, spec);
  const seed = deriveSeed(spec.splitSeed, 0xadd);
  const train = generateSplit(seed, indices.train, length);
  const validation = generateSplit(seed, indices.validation, length);
  const test = generateSplit(seed, indices.test, length);
  return {
    datasetName: 'adding',
    task: 'sequence-regression',
    inputSpecs: [{ name: 'sequence', shape: [length, 2], dtype: 'float32' }],
    targetSpec: { name: 'sum', shape: [], dtype: 'float32' },
    numClasses: 1,
    train,
    validation,
    test,
    artifacts: {},
    baselines: (): MetricValues => (test.size > 0 ? { baselineMse: constantPredictionMse(test.target as Float32Array) } : {}),
  };
}
