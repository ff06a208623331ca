import type { MetricValues } from '@tfleet/contracts';

/** Majority-class accuracy on the test labels, the class taken from the training labels. */
export function classificationBaselines(train: Int32Array, test: Int32Array, classes: number): MetricValues {
  const counts = new Int32Array(classes);
  for (const label of train) counts[label]!++;
  let majority = 0;
  for (let c = 1; c < classes; c++) if (counts[c]! > counts[majority]!) majority = c;
  let hits = 0;
  for (const label of test) if (label === majority) hits++;
  return { majorityAccuracy: test.length === 0 ? 0 : hits / test.length };
}
