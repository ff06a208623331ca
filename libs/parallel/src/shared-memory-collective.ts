import { availableParallelism } from 'node:os';
import { isSharedArrayBuffer } from 'node:util/types';
import { z } from 'zod';
import { allReduceSumThroughBuffer, type Collective, type CollectiveTimings } from './collective';
import {
  CollectiveAbortedError,
  CollectiveFailureError,
  failureLabel,
  GroupFailureReason,
} from './collective-errors';
import { ownedRange, sumInRankOrder } from './reduce';

/**
 * The shared state of one group of thread ranks: plain SharedArrayBuffers (shared, not copied,
 * when passed to a worker thread) plus the timeouts every rank applies.
 *
 * - `control`: Int32 words for the barrier, the abort record, the stop flag and per-rank
 *   bookkeeping (see the offsets below).
 * - `slots`: one slot of `capacity` floats per rank; each rank writes its gradients there.
 * - `result`: `capacity` floats; each rank sums the chunk it owns across all slots into it.
 *   A separate result buffer means a fast rank writing the next step's gradients never
 *   races a slow rank still reading this step's sums.
 *
 * Vectors longer than `capacity` are reduced in segments of `capacity` floats, so the buffers
 * can be allocated before the model (and its parameter count) exists.
 */
export interface SharedCollectiveState {
  readonly worldSize: number;
  /** Floats per rank slot; longer vectors go through in several segments. */
  readonly capacity: number;
  /** How long a rank waits at a barrier for the others before failing the group. */
  readonly barrierTimeoutMs: number;
  /** The same for the very first barrier, which also covers model build and data loading. */
  readonly setupTimeoutMs: number;
  /** How long a rank busy-waits at a barrier before it sleeps (0: only a short spin). */
  readonly spinMs: number;
  readonly control: SharedArrayBuffer;
  readonly slots: SharedArrayBuffer;
  readonly result: SharedArrayBuffer;
}

export interface SharedCollectiveOptions {
  worldSize: number;
  /** @defaultValue 1,048,576 floats (4 MiB per rank slot) */
  capacity?: number;
  /** @defaultValue 30,000 ms */
  barrierTimeoutMs?: number;
  /** @defaultValue 300,000 ms, or `barrierTimeoutMs` if larger */
  setupTimeoutMs?: number;
  /** @defaultValue {@link DEFAULT_SPIN_MS} when every rank can have a core of its own, else 0 */
  spinMs?: number;
}

export const DEFAULT_COLLECTIVE_CAPACITY = 1 << 20;
export const DEFAULT_BARRIER_TIMEOUT_MS = 30_000;
export const DEFAULT_SETUP_TIMEOUT_MS = 300_000;
/**
 * Busy-wait budget at a barrier. A rank asleep in `Atomics.wait` takes tens of microseconds to
 * wake (a futex wake-up and, in a VM, an interrupt to an idle vCPU), twice a step; measured on
 * the 2-core VM, cnn-mnist on 2 ranks spent 0.34 ms of a 7 ms step in barriers with a
 * 2,000-iteration spin and 0.18 ms when spinning through. Spinning only pays while each rank has
 * a core: with more ranks than cores it takes time from the rank being waited for.
 */
const DEFAULT_SPIN_MS = 2;

// Offsets into the Int32 control words.
const ARRIVED = 0;
const GENERATION = 1;
const ABORT_LOCK = 2;
const ABORT_REASON = 3;
const ABORT_REPORTER = 4;
const ABORT_CULPRIT = 5;
const ABORT_BARRIER = 6;
const STOP_REQUEST = 7;
const STOP_AGREED = 8;
const PER_RANK_BASE = 9;
/** Per-rank words: the operation tag, its length, and the number of the last barrier reached. */
const PER_RANK_WORDS = 3;
const OP_TAG = 0;
const OP_LENGTH = 1;
const ARRIVAL = 2;

const TAG_ALL_REDUCE = 1;
const TAG_BROADCAST_BASE = 1_000;

/** Busy-wait iterations before a waiting rank may sleep, whatever the time budget. */
const SPIN_MIN = 2_000;
/** Sleep in slices so a missed wake-up costs at most this long. */
const WAIT_SLICE_MS = 50;

function controlWords(worldSize: number): number {
  return PER_RANK_BASE + PER_RANK_WORDS * worldSize;
}

function assertPositiveInt(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
}

function assertPositiveNumber(value: number, name: string): void {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    throw new Error(`${name} must be a positive number`);
  }
}

export function createSharedCollectiveState(options: SharedCollectiveOptions): SharedCollectiveState {
  const { worldSize } = options;
  const capacity = options.capacity ?? DEFAULT_COLLECTIVE_CAPACITY;
  const barrierTimeoutMs = options.barrierTimeoutMs ?? DEFAULT_BARRIER_TIMEOUT_MS;
  const setupTimeoutMs = options.setupTimeoutMs ?? Math.max(DEFAULT_SETUP_TIMEOUT_MS, barrierTimeoutMs);
  const spinMs = options.spinMs ?? (worldSize <= availableParallelism() ? DEFAULT_SPIN_MS : 0);
  assertPositiveInt(worldSize, 'worldSize');
  assertPositiveInt(capacity, 'capacity');
  assertPositiveNumber(barrierTimeoutMs, 'barrierTimeoutMs');
  assertPositiveNumber(setupTimeoutMs, 'setupTimeoutMs');
  if (!(Number.isFinite(spinMs) && spinMs >= 0)) throw new Error('spinMs must be a number of milliseconds, 0 or more');
  // A group of one never exchanges data, so it needs no data buffers.
  const floats = worldSize === 1 ? 0 : capacity;
  return {
    worldSize,
    capacity,
    barrierTimeoutMs,
    setupTimeoutMs,
    spinMs,
    control: new SharedArrayBuffer(controlWords(worldSize) * Int32Array.BYTES_PER_ELEMENT),
    slots: new SharedArrayBuffer(worldSize * floats * Float32Array.BYTES_PER_ELEMENT),
    result: new SharedArrayBuffer(floats * Float32Array.BYTES_PER_ELEMENT),
  };
}

// Checked without `instanceof`, which fails across realms.
const sharedArrayBufferSchema = z.custom<SharedArrayBuffer>((value) => isSharedArrayBuffer(value), { message: 'expected a SharedArrayBuffer' });

/** Validates a state that crossed a thread boundary (sizes must match the declared shape). */
export const sharedCollectiveStateSchema = z
  .strictObject({
    worldSize: z.int().min(1),
    capacity: z.int().min(1),
    barrierTimeoutMs: z.number().positive(),
    setupTimeoutMs: z.number().positive(),
    spinMs: z.number().min(0).max(60_000),
    control: sharedArrayBufferSchema,
    slots: sharedArrayBufferSchema,
    result: sharedArrayBufferSchema,
  })
  .superRefine((state, ctx) => {
    const floats = state.worldSize === 1 ? 0 : state.capacity;
    const expect = (name: 'control' | 'slots' | 'result', bytes: number) => {
      if (state[name].byteLength !== bytes) {
        ctx.addIssue({ code: 'custom', path: [name], message: `${name} must be ${bytes} bytes, got ${state[name].byteLength}` });
      }
    };
    expect('control', controlWords(state.worldSize) * 4);
    expect('slots', state.worldSize * floats * 4);
    expect('result', floats * 4);
  });

/** Who failed the group, as recorded in shared memory by whoever noticed first. */
export interface SharedAbortRecord {
  reason: GroupFailureReason;
  /** The rank that recorded the failure; -1 for the parent. */
  reporter: number;
  /** The rank at fault. */
  culprit: number;
  /** The barrier number the reporter was at (0 when not at a barrier). */
  barrier: number;
}

/**
 * Group-wide flags that both the parent and the ranks touch: the cooperative stop request and
 * the abort record. The parent never takes part in barriers.
 */
export class SharedGroupControl {
  private readonly control: Int32Array;

  constructor(state: SharedCollectiveState) {
    this.control = new Int32Array(state.control);
  }

  /** Asks every rank to stop; ranks see it at the same collective operation. */
  requestStop(): void {
    Atomics.store(this.control, STOP_REQUEST, 1);
  }

  /**
   * Records the failure and wakes every waiting rank, unless a failure was recorded already
   * (the first one is the root cause). Returns whether this call recorded it.
   */
  abort(reason: GroupFailureReason, culprit: number, reporter = -1, barrier = 0): boolean {
    const control = this.control;
    if (Atomics.compareExchange(control, ABORT_LOCK, 0, 1) !== 0) return false;
    Atomics.store(control, ABORT_REPORTER, reporter);
    Atomics.store(control, ABORT_CULPRIT, culprit);
    Atomics.store(control, ABORT_BARRIER, barrier);
    // The reason is published last: readers treat a non-zero reason as a complete record.
    Atomics.store(control, ABORT_REASON, reason);
    Atomics.notify(control, GENERATION);
    return true;
  }

  readAbort(): SharedAbortRecord | null {
    const reason = Atomics.load(this.control, ABORT_REASON);
    if (reason === 0) return null;
    return {
      reason: reason as GroupFailureReason,
      reporter: Atomics.load(this.control, ABORT_REPORTER),
      culprit: Atomics.load(this.control, ABORT_CULPRIT),
      barrier: Atomics.load(this.control, ABORT_BARRIER),
    };
  }
}

/**
 * {@link Collective} over shared memory for ranks that are worker threads of one process.
 *
 * All-reduce: each rank copies its vector into its slot; barrier; each rank sums the chunk it
 * owns across all slots in rank order into the result buffer; barrier; each rank copies the
 * whole result out. Barriers spin (`spinMs`), then sleep on `Atomics.wait`; they give up after
 * the barrier timeout (naming the ranks that did not arrive) or as soon as any rank or the
 * parent records an abort. Must run off the main thread (`Atomics.wait` blocks).
 */
export class SharedMemoryCollective implements Collective {
  readonly worldSize: number;
  private readonly control: Int32Array;
  private readonly slots: Float32Array[];
  private readonly result: Float32Array;
  private readonly group: SharedGroupControl;
  private barriersReached = 0;
  private operations = 0;
  private stopAgreed = false;
  private timings = { allReduceMs: 0, allReduceCalls: 0, waitMs: 0 };

  constructor(
    private readonly state: SharedCollectiveState,
    readonly rank: number,
  ) {
    if (!Number.isInteger(rank) || rank < 0 || rank >= state.worldSize) {
      throw new Error(`rank must be an integer in [0, ${state.worldSize}), got ${rank}`);
    }
    this.worldSize = state.worldSize;
    this.control = new Int32Array(state.control);
    const floats = state.worldSize === 1 ? 0 : state.capacity;
    this.slots = Array.from(
      { length: state.worldSize },
      (_, r) => new Float32Array(state.slots, r * floats * Float32Array.BYTES_PER_ELEMENT, floats),
    );
    this.result = new Float32Array(state.result);
    this.group = new SharedGroupControl(state);
  }

  async allReduceSum(buffer: Float32Array): Promise<void> {
    this.reduce(
      buffer.length,
      (slot, offset) => slot.set(buffer.subarray(offset, offset + slot.length)),
      (sum, offset) => buffer.set(sum, offset),
    );
  }

  /**
   * The one-round case (length within a slot) writes straight into this rank's slot and reads
   * the shared result; longer vectors take allReduceSum's segmented path through a buffer.
   */
  async allReduceSumVia(length: number, write: (contribution: Float32Array) => void, read: (sum: Float32Array) => void): Promise<void> {
    if (this.worldSize === 1 || length > this.state.capacity) {
      await allReduceSumThroughBuffer(this, length, write, read);
      return;
    }
    this.reduce(length, write, read);
  }

  /**
   * One all-reduce of `length` floats in segments of at most a slot: `fill` writes a segment
   * (starting at `offset` of the whole vector) into this rank's slot, `drain` receives its sum.
   * The sum stays readable until this rank's next all-reduce: nobody writes the result before
   * every rank has passed that operation's first barrier.
   */
  private reduce(
    length: number,
    fill: (slot: Float32Array, offset: number) => void,
    drain: (sum: Float32Array, offset: number) => void,
  ): void {
    const started = performance.now();
    const operation = `all-reduce #${++this.operations}`;
    let waitMs = 0;
    if (this.worldSize === 1) {
      waitMs += this.barrier(operation);
    } else {
      this.announce(TAG_ALL_REDUCE, length);
      const capacity = this.state.capacity;
      const mySlot = this.slots[this.rank]!;
      const rounds = Math.max(1, Math.ceil(length / capacity));
      for (let round = 0; round < rounds; round++) {
        const offset = round * capacity;
        const segment = Math.min(capacity, length - offset);
        fill(mySlot.subarray(0, segment), offset);
        waitMs += this.barrier(operation);
        if (round === 0) this.checkAgreement(operation);
        const { lo, hi } = ownedRange(this.rank, this.worldSize, segment);
        sumInRankOrder(this.slots, this.result, lo, hi, lo);
        waitMs += this.barrier(operation);
        drain(this.result.subarray(0, segment), offset);
      }
    }
    this.timings.allReduceMs += performance.now() - started;
    this.timings.allReduceCalls += 1;
    this.timings.waitMs += waitMs;
  }

  async broadcast(buffer: Float32Array, root: number): Promise<void> {
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize) {
      throw new Error(`broadcast root must be an integer in [0, ${this.worldSize}), got ${root}`);
    }
    const operation = `broadcast #${++this.operations}`;
    if (this.worldSize === 1) {
      this.barrier(operation);
      return;
    }
    this.announce(TAG_BROADCAST_BASE + root, buffer.length);
    const capacity = this.state.capacity;
    // The root publishes through its own slot, never the result buffer: a slow rank may still
    // be copying the previous all-reduce's result out, while no rank reads slots after a
    // reduction's second barrier.
    const rootSlot = this.slots[root]!;
    const rounds = Math.max(1, Math.ceil(buffer.length / capacity));
    for (let round = 0; round < rounds; round++) {
      const offset = round * capacity;
      const length = Math.min(capacity, buffer.length - offset);
      if (this.rank === root) rootSlot.set(buffer.subarray(offset, offset + length));
      this.barrier(operation);
      if (round === 0) this.checkAgreement(operation);
      if (this.rank !== root) buffer.set(rootSlot.subarray(0, length), offset);
      // The root must not overwrite its slot before every rank has read it.
      this.barrier(operation);
    }
  }

  /**
   * The stop request as agreed at the last barrier: the same answer on every rank between
   * steps. A group of one may never reach a barrier (nothing to reduce), so it reads the flag.
   */
  stopRequested(): boolean {
    if (this.worldSize === 1) return Atomics.load(this.control, STOP_REQUEST) !== 0;
    return this.stopAgreed;
  }

  takeTimings(): CollectiveTimings {
    const taken = this.timings;
    this.timings = { allReduceMs: 0, allReduceCalls: 0, waitMs: 0 };
    return taken;
  }

  private perRank(rank: number, word: number): number {
    return PER_RANK_BASE + rank * PER_RANK_WORDS + word;
  }

  private announce(tag: number, length: number): void {
    Atomics.store(this.control, this.perRank(this.rank, OP_TAG), tag);
    Atomics.store(this.control, this.perRank(this.rank, OP_LENGTH), length);
  }

  /** After the first barrier of an operation every rank sees every announcement, so all agree. */
  private checkAgreement(operation: string): void {
    const describe = (rank: number): string => {
      const tag = Atomics.load(this.control, this.perRank(rank, OP_TAG));
      const length = Atomics.load(this.control, this.perRank(rank, OP_LENGTH));
      const kind = tag === TAG_ALL_REDUCE ? 'all-reduce' : `broadcast from rank ${tag - TAG_BROADCAST_BASE}`;
      return `${kind} of ${length} floats`;
    };
    const reference = describe(0);
    for (let r = 1; r < this.worldSize; r++) {
      const other = describe(r);
      if (other !== reference) {
        this.fail(
          GroupFailureReason.Mismatch,
          r,
          `ranks disagree at ${operation}: rank 0 called ${reference}, rank ${r} called ${other}`,
        );
      }
    }
  }

  /** Returns the milliseconds spent waiting for the other ranks. */
  private barrier(operation: string): number {
    const control = this.control;
    const number = ++this.barriersReached;
    this.throwIfAborted(operation);
    Atomics.store(control, this.perRank(this.rank, ARRIVAL), number);
    const generation = Atomics.load(control, GENERATION);
    if (Atomics.add(control, ARRIVED, 1) === this.worldSize - 1) {
      // Last to arrive: reset the count, agree on the stop flag, then release everyone.
      Atomics.store(control, ARRIVED, 0);
      Atomics.store(control, STOP_AGREED, Atomics.load(control, STOP_REQUEST));
      Atomics.add(control, GENERATION, 1);
      Atomics.notify(control, GENERATION);
      this.stopAgreed = Atomics.load(control, STOP_AGREED) !== 0;
      return 0;
    }
    const started = performance.now();
    const timeoutMs = number === 1 ? this.state.setupTimeoutMs : this.state.barrierTimeoutMs;
    const deadline = started + timeoutMs;
    const spinUntil = Math.min(started + this.state.spinMs, deadline);
    let spinning = true;
    let spins = 0;
    while (Atomics.load(control, GENERATION) === generation) {
      if (Atomics.load(control, ABORT_REASON) !== 0) throw this.abortedError(operation);
      if (spinning) {
        spins++;
        // The clock is read every 256 spins: a read costs more than a spin.
        if (spins < SPIN_MIN || (spins & 255) !== 0 || performance.now() < spinUntil) continue;
        spinning = false;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        if (Atomics.load(control, GENERATION) !== generation) break;
        this.failTimeout(operation, number, timeoutMs);
      }
      Atomics.wait(control, GENERATION, generation, Math.min(remaining, WAIT_SLICE_MS));
    }
    // Released: STOP_AGREED cannot change again until this rank reaches its next barrier.
    this.stopAgreed = Atomics.load(control, STOP_AGREED) !== 0;
    return performance.now() - started;
  }

  private failTimeout(operation: string, number: number, timeoutMs: number): never {
    const missing: number[] = [];
    for (let r = 0; r < this.worldSize; r++) {
      if (Atomics.load(this.control, this.perRank(r, ARRIVAL)) < number) missing.push(r);
    }
    const who = missing.length === 1 ? `rank ${missing[0]}` : `ranks ${missing.join(', ')}`;
    this.fail(
      GroupFailureReason.Timeout,
      missing[0] ?? this.rank,
      `${who} did not reach ${operation} (barrier ${number}) within ${timeoutMs} ms; rank ${this.rank} gave up waiting`,
      number,
    );
  }

  private fail(reason: GroupFailureReason, culprit: number, message: string, barrier = this.barriersReached): never {
    if (!this.group.abort(reason, culprit, this.rank, barrier)) throw this.abortedError('its last operation');
    throw new CollectiveFailureError(message, culprit, reason);
  }

  private throwIfAborted(operation: string): void {
    if (Atomics.load(this.control, ABORT_REASON) !== 0) throw this.abortedError(operation);
  }

  private abortedError(operation: string): CollectiveAbortedError {
    const record = this.group.readAbort();
    const cause = record
      ? `${failureLabel(record.reason)} at rank ${record.culprit}${record.reporter >= 0 ? `, reported by rank ${record.reporter}` : ', reported by the parent'}`
      : 'unknown cause';
    return new CollectiveAbortedError(`rank ${this.rank} stopped at ${operation}: the group was aborted (${cause})`);
  }
}
