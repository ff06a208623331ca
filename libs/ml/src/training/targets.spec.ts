import * as tf from '@tensorflow/tfjs';
import type { DataSplit, TaskData } from '../data/dataset';
import { assertTargetsFitModel } from './run-rank';

function split(targets: number[]): DataSplit {
  return { size: targets.length, inputs: [new Float32Array(targets.length * 2)], target: Int32Array.from(targets) };
}

function data(train: number[], task: TaskData['task'] = 'image-classification'): TaskData {
  return {
    task,
    datasetName: 'hand-made',
    inputSpecs: [{ name: 'x', shape: [2], dtype: 'float32' }],
    targetSpec: { name: 'y', shape: [], dtype: 'int32' },
    numClasses: 3,
    train: split(train),
    validation: split([0, 1]),
    test: split([2]),
    artifacts: {},
    baselines: () => ({}),
  };
}

describe('assertTargetsFitModel: a run on labels its model cannot output fails before its first step', () => {
  let model: tf.LayersModel;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 3 })] });
  });

  afterAll(() => model.dispose());

  it('accepts class ids in [0, classes)', () => {
    const before = tf.memory().numTensors;
    expect(() => assertTargetsFitModel(data([0, 2, 1, 2]), model)).not.toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([
    { targets: [0, 1, 3], message: /dataset 'hand-made': train target 3 \(value 2\) is not a class id in \[0, 3\)/ },
    { targets: [-1, 1], message: /train target -1 \(value 0\)/ },
  ])('names the first target outside the classes: $targets', ({ targets, message }) => {
    expect(() => assertTargetsFitModel(data(targets), model)).toThrow(message);
  });

  it('checks nothing on regression targets', () => {
    expect(() => assertTargetsFitModel(data([7, -4], 'sequence-regression'), model)).not.toThrow();
  });
});
