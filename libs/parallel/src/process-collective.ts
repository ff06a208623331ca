import { allReduceSumThroughBuffer, type Collective, type CollectiveTimings } from './collective';
import { CollectiveAbortedError } from './collective-errors';
import type { CollectiveOp, ProcessParentMessage, ProcessRankMessage } from './rank-messages';

type CollectiveResult = Extract<ProcessParentMessage, { type: 'collective-result' }>;

interface PendingOperation {
  seq: number;
  resolve: (result: CollectiveResult) => void;
  reject: (error: Error) => void;
}

/**
 * {@link Collective} for a rank that is a child process. Each operation goes to the parent's
 * {@link ProcessCollectiveHub}, which reduces in rank order (as the thread transport does)
 * and answers every rank with the same values. The rank's entry file feeds parent messages in
 * through {@link receive} and {@link abort}. Timeouts live in the hub, the only party that
 * sees every rank.
 */
export class ProcessCollective implements Collective {
  private seq = 0;
  private pending: PendingOperation | null = null;
  private aborted: string | null = null;
  private stopAgreed = false;
  private stopSent = false;
  private timings = { allReduceMs: 0, allReduceCalls: 0, waitMs: 0 };

  constructor(
    readonly rank: number,
    readonly worldSize: number,
    private readonly send: (message: ProcessRankMessage) => void,
  ) {}

  async allReduceSum(buffer: Float32Array): Promise<void> {
    const started = performance.now();
    // A group of one still asks the hub, which is where the stop request is agreed.
    const result = await this.exchange('all-reduce', -1, buffer, buffer);
    if (result.data === null || result.data.length !== buffer.length) {
      throw new Error(`all-reduce reply for rank ${this.rank} has the wrong length`);
    }
    buffer.set(result.data);
    const elapsed = performance.now() - started;
    this.timings.allReduceMs += elapsed;
    this.timings.allReduceCalls += 1;
    // The rank is idle for the whole exchange: the hub's reduction and the other ranks both count.
    this.timings.waitMs += elapsed;
  }

  async allReduceSumVia(length: number, write: (contribution: Float32Array) => void, read: (sum: Float32Array) => void): Promise<void> {
    // The data crosses a process boundary as a message either way; nothing to save here.
    await allReduceSumThroughBuffer(this, length, write, read);
  }

  async broadcast(buffer: Float32Array, root: number): Promise<void> {
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize) {
      throw new Error(`broadcast root must be an integer in [0, ${this.worldSize}), got ${root}`);
    }
    const result = await this.exchange('broadcast', root, buffer, this.rank === root ? buffer : null);
    if (this.rank !== root) {
      if (result.data === null || result.data.length !== buffer.length) {
        throw new Error(`broadcast reply for rank ${this.rank} has the wrong length`);
      }
      buffer.set(result.data);
    }
  }

  /**
   * The stop request as of the last operation, the same on every rank. A group of one may
   * never run an operation (nothing to reduce), so it uses the parent's direct `stop` message.
   */
  stopRequested(): boolean {
    return this.worldSize === 1 ? this.stopSent : this.stopAgreed;
  }

  /** The parent's `stop` message. */
  requestStop(): void {
    this.stopSent = true;
  }

  takeTimings(): CollectiveTimings {
    const taken = this.timings;
    this.timings = { allReduceMs: 0, allReduceCalls: 0, waitMs: 0 };
    return taken;
  }

  /** A `collective-result` from the parent. */
  receive(message: CollectiveResult): void {
    const pending = this.pending;
    if (!pending || pending.seq !== message.seq) {
      this.abort(`rank ${this.rank} got a reply to operation ${message.seq} it is not waiting for`);
      return;
    }
    this.pending = null;
    this.stopAgreed = message.stop;
    pending.resolve(message);
  }

  /** The group failed: the pending operation and every later one reject. */
  abort(message: string): void {
    if (this.aborted === null) this.aborted = message;
    const pending = this.pending;
    this.pending = null;
    pending?.reject(new CollectiveAbortedError(`rank ${this.rank}: the group was aborted (${message})`));
  }

  private exchange(op: CollectiveOp, root: number, buffer: Float32Array, data: Float32Array | null): Promise<CollectiveResult> {
    if (this.aborted !== null) {
      return Promise.reject(new CollectiveAbortedError(`rank ${this.rank}: the group was aborted (${this.aborted})`));
    }
    if (this.pending) return Promise.reject(new Error(`rank ${this.rank} started a collective operation while another is pending`));
    const seq = ++this.seq;
    return new Promise<CollectiveResult>((resolve, reject) => {
      this.pending = { seq, resolve, reject };
      this.send({ type: 'collective', op, seq, root, length: buffer.length, data: data && compact(data) });
    });
  }
}

/**
 * The IPC serializer writes a view's whole underlying ArrayBuffer, so a view into a larger
 * buffer (a wasm heap, a pooled buffer) is copied down to its own bytes first.
 */
function compact(view: Float32Array): Float32Array {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : view.slice();
}
