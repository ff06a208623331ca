import { errorMessage, type RankBody } from '@tfleet/parallel';

/**
 * The function a rank runs: the training loop, or `runRank` from `rankModule` (a compiled
 * module path, used by tests and the all-reduce bench). Loaded lazily so that a fixture rank
 * never pays for loading TensorFlow.js.
 */
export async function loadRankBody(rankModule: string | null): Promise<RankBody> {
  if (rankModule === null) {
    const { runTrainingRank } = await import('@tfleet/ml');
    return runTrainingRank;
  }
  let loaded: unknown;
  try {
    loaded = await import(rankModule);
  } catch (error) {
    throw new Error(`cannot load rank module ${rankModule}: ${errorMessage(error)}`);
  }
  const runRank = typeof loaded === 'object' && loaded !== null ? (loaded as { runRank?: unknown }).runRank : undefined;
  if (typeof runRank !== 'function') {
    throw new Error(`rank module ${rankModule} must export runRank(task, collective, report, args)`);
  }
  return runRank as RankBody;
}
