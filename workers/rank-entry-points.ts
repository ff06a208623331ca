import { join } from 'node:path';
import type { RankEntryPoints } from '@tfleet/parallel';

/**
 * The compiled rank entries in this folder, for whoever builds a RankGroup (the worker app,
 * the bench, tests). Importing this loads neither an entry nor TensorFlow.js.
 */
export const RANK_ENTRY_POINTS: RankEntryPoints = {
  thread: join(__dirname, 'train-rank.thread.js'),
  process: join(__dirname, 'train-rank.process.js'),
};
