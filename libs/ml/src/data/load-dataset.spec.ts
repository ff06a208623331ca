import { datasetSpecSchema, DATASET_TASKS, type DatasetSpec } from '@tfleet/contracts';
import { sampleSize, type TaskData } from './dataset';
import { loadDataset } from './load-dataset';

const small: Record<DatasetSpec['name'], Record<string, unknown>> = {
  mnist: { samples: 300 },
  'synthetic-images': { samples: 60, height: 8, width: 8 },
  brown: { maxTokens: 2_000, vocabSize: 100 },
  cmudict: { samples: 300 },
  adding: { samples: 200, sequenceLength: 20 },
  copy: { samples: 200 },
  'spam-assassin': { sequenceLength: 16, vocabSize: 100 },
};

describe.each(Object.entries(small))('loadDataset(%s)', (name, options) => {
  const spec = datasetSpecSchema.parse({ name, ...options });
  const data: TaskData = loadDataset(spec);

  it('matches its sample specs and the task of the data set', () => {
    expect(data.datasetName).toBe(name);
    expect(data.task).toBe(DATASET_TASKS[spec.name]);
    for (const split of [data.train, data.validation, data.test]) {
      data.inputSpecs.forEach((input, k) => {
        expect(split.inputs[k]!.length).toBe(split.size * sampleSize(input));
        expect(split.inputs[k]).toBeInstanceOf(input.dtype === 'int32' ? Int32Array : Float32Array);
      });
      expect(split.target.length).toBe(split.size * sampleSize(data.targetSpec));
      expect(split.target).toBeInstanceOf(data.targetSpec.dtype === 'int32' ? Int32Array : Float32Array);
    }
    expect(data.train.size).toBeGreaterThan(data.test.size);
  });

  it('holds finite values, token ids inside the vocabularies and labels inside the classes', () => {
    for (const split of [data.train, data.validation, data.test]) {
      data.inputSpecs.forEach((input, k) => {
        const values = split.inputs[k]!;
        expect(values.every(Number.isFinite)).toBe(true);
        if (input.dtype === 'int32' && data.inputVocabSize !== undefined) {
          expect(values.every((id) => id >= 0 && id < (k === 1 ? data.numClasses : data.inputVocabSize!))).toBe(true);
        }
      });
      expect(split.target.every(Number.isFinite)).toBe(true);
      if (data.targetSpec.dtype === 'int32') expect(split.target.every((id) => id >= 0 && id < data.numClasses)).toBe(true);
    }
  });

  it('is deterministic for a spec, baselines included', () => {
    const again = loadDataset(spec);
    expect(Array.from(again.train.target)).toEqual(Array.from(data.train.target));
    expect(Array.from(again.validation.inputs[0]!)).toEqual(Array.from(data.validation.inputs[0]!));
    expect(again.artifacts).toEqual(data.artifacts);
    const baselines = data.baselines();
    expect(again.baselines()).toEqual(baselines);
    expect(Object.keys(baselines).length).toBeGreaterThan(0);
    expect(Object.values(baselines).every(Number.isFinite)).toBe(true);
    expect(JSON.parse(JSON.stringify(data.artifacts))).toEqual(data.artifacts);
  });
});
