import { z } from 'zod';
import { type MetricValues, type TrainingProgress, trainingProgressSchema } from '@tfleet/contracts';
import type { ExperimentView } from '../experiments/experiment.view';

/** Progress as a live stream sends it: the worker's report, the experiment, and an estimate of the time left. */
export interface LiveProgress extends TrainingProgress {
  experimentId: string;
  /** Seconds to the last step at the reported samples/s; null before the rate is known. */
  etaSeconds: number | null;
}

/** One finished epoch (from the `epoch` run event), for live curves. */
export interface LiveEpoch {
  experimentId: string;
  attempt: number;
  epoch: number;
  step: number;
  train: MetricValues;
  validation: MetricValues;
}

/** What live streams carry; `experiment` is sent when an experiment appears or its status or attempt changes. */
export type LiveMessage = { type: 'progress'; data: LiveProgress } | { type: 'epoch'; data: LiveEpoch } | { type: 'experiment'; data: ExperimentView };

export function messageExperimentId(message: LiveMessage): string {
  return message.type === 'experiment' ? message.data.id : message.data.experimentId;
}

/** A `progress` event of the experiments queue as QueueEvents delivers it (read back from Redis: validated). */
export const queueProgressEventSchema = z.object({
  jobId: z.uuid(),
  data: trainingProgressSchema,
});

/** Seconds left: the steps still to run, each a global batch, at the reported samples/s. */
export function etaSeconds(progress: TrainingProgress, batchSize: number): number | null {
  if (!(progress.samplesPerSecond > 0)) return null;
  const remainingSteps = Math.max(0, progress.totalSteps - progress.step);
  return Math.round((remainingSteps * batchSize) / progress.samplesPerSecond);
}
