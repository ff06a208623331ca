/**
 * The collective operations the training loop needs from its data-parallel group.
 * One implementation runs ranks as worker threads over SharedArrayBuffers and Atomics,
 * another as child processes; a single-rank run uses {@link SoloCollective}.
 */
export interface Collective {
  readonly rank: number;
  readonly worldSize: number;
  /**
   * Sums `buffer` element-wise across all ranks, in place. Every rank must call it with a
   * buffer of the same length; the sum is taken in a fixed rank order, so all ranks end up
   * with bit-identical values.
   */
  allReduceSum(buffer: Float32Array): Promise<void>;
  /** Copies `buffer` from `root` into every other rank's `buffer`, in place. */
  broadcast(buffer: Float32Array, root: number): Promise<void>;
  /** True once a stop has been requested (cancellation); checked between steps. */
  stopRequested(): boolean;
  /** Per-operation timings in milliseconds since the last call, for the bench breakdown. */
  takeTimings(): CollectiveTimings;
}

export interface CollectiveTimings {
  /** Time spent inside allReduceSum (copies, barriers, reduction). */
  allReduceMs: number;
  /** Number of allReduceSum calls counted. */
  allReduceCalls: number;
  /**
   * Part of `allReduceMs` spent waiting for the other ranks (barriers, or the hub's reply):
   * load imbalance between ranks shows up here rather than in the reduction itself.
   */
  waitMs?: number;
}

/** The trivial group of one: every operation is the identity. */
export class SoloCollective implements Collective {
  readonly rank = 0;
  readonly worldSize = 1;

  constructor(private readonly stop: () => boolean = () => false) {}

  async allReduceSum(): Promise<void> {}

  async broadcast(): Promise<void> {}

  stopRequested(): boolean {
    return this.stop();
  }

  takeTimings(): CollectiveTimings {
    return { allReduceMs: 0, allReduceCalls: 0, waitMs: 0 };
  }
}
