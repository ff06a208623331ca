import { RankGroup, type RankEntryPoints, type RankGroupOptions } from '@tfleet/parallel';

/** The part of a {@link RankGroup} a training run uses, so a unit test can hand it a fake. */
export type TrainingRankGroup = Pick<RankGroup, 'run' | 'fail'>;

/**
 * Builds the rank group of each training run on the rank entries this worker was wired with
 * (workers/, passed in by WorkerModule). The service asks for a group per run; it never needs
 * to know where the entries live.
 */
export class RankGroupFactory {
  constructor(private readonly entryPoints: RankEntryPoints) {}

  create(options: Omit<RankGroupOptions, 'entryPoints'>): TrainingRankGroup {
    return new RankGroup({ ...options, entryPoints: this.entryPoints });
  }
}
