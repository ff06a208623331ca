import type { RankReport, RankTask } from '@tfleet/contracts';
import type { Collective } from './collective';

export type RankReportSink = (report: RankReport) => void;

/**
 * What one rank runs: the training loop by default (`runTrainingRank`), or any module named by
 * `RankGroupOptions.rankModule` that exports a function of this type as `runRank`. Its result
 * (structured-cloneable) comes back from {@link RankGroup.run}; `args` is
 * `RankGroupOptions.rankModuleArgs`.
 */
export type RankBody = (
  task: RankTask,
  collective: Collective,
  report: RankReportSink,
  args: unknown,
) => Promise<unknown>;
