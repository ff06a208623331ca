import { GroupFailureReason } from './collective-errors';
import { sumInRankOrder } from './reduce';
import type { CollectiveRequest, ProcessParentMessage } from './rank-messages';

export interface HubFailure {
  reason: GroupFailureReason;
  /** The rank at fault. */
  culprit: number;
  message: string;
}

export interface ProcessCollectiveHubOptions {
  worldSize: number;
  barrierTimeoutMs: number;
  /** Timeout of the first operation, which also covers model build and data loading. */
  setupTimeoutMs: number;
  send: (rank: number, message: ProcessParentMessage) => void;
  /** Called once, for the first failure. */
  onFailure: (failure: HubFailure) => void;
}

interface PendingCollective {
  first: CollectiveRequest;
  firstRank: number;
  parts: (Float32Array | null)[];
  arrived: number;
  timer: NodeJS.Timeout;
}

/**
 * The parent's side of {@link ProcessCollective}: it collects one request per rank for each
 * operation, checks that all ranks called the same operation with the same length, reduces in
 * rank order with the same function as the thread transport, and sends every rank the same
 * reply. Ranks run their operations in the same order, so there is never more than one
 * operation in flight. A rank that does not arrive within the timeout fails the group.
 */
export class ProcessCollectiveHub {
  private seq = 1;
  private pending: PendingCollective | null = null;
  private stop = false;
  private closed = false;

  constructor(private readonly options: ProcessCollectiveHubOptions) {}

  requestStop(): void {
    this.stop = true;
  }

  /** Stops all timers; later requests are ignored. */
  close(): void {
    this.closed = true;
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = null;
  }

  contribute(rank: number, request: CollectiveRequest): void {
    if (this.closed) return;
    const { worldSize } = this.options;
    const operation = `${request.op} #${request.seq}`;
    if (request.seq !== this.seq) {
      return this.fail(GroupFailureReason.Protocol, rank, `rank ${rank} sent ${operation}, expected operation #${this.seq}`);
    }
    const problem = this.checkRequest(request);
    if (problem) return this.fail(GroupFailureReason.Protocol, rank, `rank ${rank} sent a bad ${operation}: ${problem}`);

    let pending = this.pending;
    if (!pending) {
      const timeoutMs = this.seq === 1 ? this.options.setupTimeoutMs : this.options.barrierTimeoutMs;
      pending = {
        first: request,
        firstRank: rank,
        parts: new Array<Float32Array | null>(worldSize).fill(null),
        arrived: 0,
        timer: setTimeout(() => this.timeOut(operation, timeoutMs), timeoutMs),
      };
      this.pending = pending;
    } else {
      if (pending.parts[rank] !== null) {
        return this.fail(GroupFailureReason.Protocol, rank, `rank ${rank} sent ${operation} twice`);
      }
      const { first, firstRank } = pending;
      if (first.op !== request.op || first.root !== request.root || first.length !== request.length) {
        // Named in rank order, with the higher rank at fault, as the thread transport does.
        const [low, high] = firstRank < rank ? [[firstRank, first], [rank, request]] as const : [[rank, request], [firstRank, first]] as const;
        return this.fail(
          GroupFailureReason.Mismatch,
          high[0],
          `ranks disagree at operation #${request.seq}: rank ${low[0]} called ${describe(low[1])}, rank ${high[0]} called ${describe(high[1])}`,
        );
      }
    }
    pending.parts[rank] = request.data ?? EMPTY;
    pending.arrived += 1;
    if (pending.arrived === worldSize) this.complete(pending);
  }

  private checkRequest(request: CollectiveRequest): string | null {
    const { worldSize } = this.options;
    if (request.op === 'all-reduce') {
      if (request.root !== -1) return 'all-reduce has no root';
      if (request.data === null || request.data.length !== request.length) return `expected ${request.length} floats of data`;
      return null;
    }
    if (request.root < 0 || request.root >= worldSize) return `root must be in [0, ${worldSize})`;
    return null;
  }

  private complete(pending: PendingCollective): void {
    clearTimeout(pending.timer);
    this.pending = null;
    const seq = this.seq++;
    const { first } = pending;
    const { worldSize, send } = this.options;
    if (first.op === 'all-reduce') {
      const sum = new Float32Array(first.length);
      sumInRankOrder(pending.parts as Float32Array[], sum, 0, first.length);
      for (let r = 0; r < worldSize; r++) send(r, { type: 'collective-result', seq, data: sum, stop: this.stop });
      return;
    }
    const data = pending.parts[first.root];
    if (!data || data.length !== first.length) {
      return this.fail(GroupFailureReason.Protocol, first.root, `broadcast root rank ${first.root} sent no data for operation #${seq}`);
    }
    for (let r = 0; r < worldSize; r++) {
      send(r, { type: 'collective-result', seq, data: r === first.root ? null : data, stop: this.stop });
    }
  }

  private timeOut(operation: string, timeoutMs: number): void {
    const pending = this.pending;
    if (!pending || this.closed) return;
    const missing = pending.parts.flatMap((part, rank) => (part === null ? [rank] : []));
    const who = missing.length === 1 ? `rank ${missing[0]}` : `ranks ${missing.join(', ')}`;
    this.fail(GroupFailureReason.Timeout, missing[0] ?? 0, `${who} did not reach ${operation} within ${timeoutMs} ms`);
  }

  private fail(reason: GroupFailureReason, culprit: number, message: string): void {
    this.close();
    this.options.onFailure({ reason, culprit, message });
  }
}

const EMPTY = new Float32Array(0);

function describe(request: CollectiveRequest): string {
  const kind = request.op === 'all-reduce' ? 'all-reduce' : `broadcast from rank ${request.root}`;
  return `${kind} of ${request.length} floats`;
}
