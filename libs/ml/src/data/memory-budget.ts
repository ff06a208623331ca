/**
 * Every rank thread holds its own copy of a data set, so generated data sets are capped:
 * 128 Mi values (512 MiB as float32) per copy. Larger requests fail early with a clear
 * message instead of exhausting memory halfway through generation.
 */
const MAX_DATASET_VALUES = 128 * 1024 * 1024;

export function assertFitsInMemory(dataset: string, samples: number, valuesPerSample: number): void {
  const values = samples * valuesPerSample;
  if (values > MAX_DATASET_VALUES) {
    const maxSamples = Math.floor(MAX_DATASET_VALUES / valuesPerSample);
    throw new Error(
      `${dataset}: ${samples} samples of ${valuesPerSample} values (${Math.round((values * 4) / 2 ** 20)} MiB) exceed the ` +
        `${(MAX_DATASET_VALUES * 4) / 2 ** 20} MiB in-memory limit per rank; use at most ${maxSamples} samples at this size`,
    );
  }
}
