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
  /**
   * allReduceSum without a buffer of the caller's: `write` fills this rank's `length` floats
   * where the transport reads them (the thread transport's shared slot), `read` gets the sum
   * (the shared result) and must copy out what it keeps before returning. Saves the trainer
   * two copies of its gradients per step, and their allocation.
   */
  allReduceSumVia(length: number, write: (contribution: Float32Array) => void, read: (sum: Float32Array) => void): Promise<void>;
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

  async allReduceSumVia(length: number, write: (contribution: Float32Array) => void, read: (sum: Float32Array) => void): Promise<void> {
    await allReduceSumThroughBuffer(this, length, write, read);
  }

  async broadcast(): Promise<void> {}

  stopRequested(): boolean {
    return this.stop();
  }

  takeTimings(): CollectiveTimings {
    return { allReduceMs: 0, allReduceCalls: 0, waitMs: 0 };
  }
}

/** allReduceSumVia for transports that reduce caller buffers: one buffer per length, reused. */
const scratchBuffers = new WeakMap<Collective, Float32Array>();
export async function allReduceSumThroughBuffer(
  collective: Collective,
  length: number,
  write: (contribution: Float32Array) => void,
  read: (sum: Float32Array) => void,
): Promise<void> {
  let buffer = scratchBuffers.get(collective);
  if (buffer === undefined || buffer.length !== length) {
    buffer = new Float32Array(length);
    scratchBuffers.set(collective, buffer);
  }
  write(buffer);
  await collective.allReduceSum(buffer);
  read(buffer);
}
