import { Logger, type OnModuleDestroy } from '@nestjs/common';
import type { BackendName } from '@tfleet/contracts';
import { RankGroup, type RankEntryPoints, type RankGroupOptions } from '@tfleet/parallel';

/** The part of a {@link RankGroup} a training run uses, so a unit test can hand it a fake. */
export type TrainingRankGroup = Pick<RankGroup, 'run' | 'fail'>;

/** Which rank pool an experiment ran on, for its runtime record. */
export interface RankPoolRecord {
  /** This worker's n-th thread pool (1 for its first); a new number after a failure or a change of backend or ranks. */
  pool: number;
  /** The experiment is the pool's n-th run: 1 on fresh threads, 2 and more on warm ones. */
  run: number;
}

/** One experiment's use of a rank group. */
export interface RankGroupLease {
  readonly group: TrainingRankGroup;
  /** The pool the run is on (null for process ranks, which always start fresh); read during or after the run. */
  pool(): RankPoolRecord | null;
  /** Tensors and bytes rank 0's engine still held after the run (its 'memory' report). */
  recordRankMemory(tensors: number, bytes: number): void;
  /** The run is over (however it ended): a warm pool goes back for the next experiment. */
  release(): void;
}

export interface RankGroupFactoryOptions {
  /**
   * Keep one thread pool warm between experiments of the same backend, ranks and group
   * options. @defaultValue true
   */
  keepWarm?: boolean;
  /** A warm pool nobody used for this long is ended (its threads hold wasm heaps). @defaultValue 600,000 ms */
  idleMs?: number;
  /**
   * A warm pool whose rank 0 holds this many more tensor bytes after a run than after the
   * pool's first run is ended: a leak must not accumulate across experiments. @defaultValue 64 MiB
   */
  leakRetireBytes?: number;
}

type GroupOptions = Omit<RankGroupOptions, 'entryPoints' | 'keepWarm'>;

interface WarmGroup {
  key: string;
  group: RankGroup;
  leased: boolean;
  idle: NodeJS.Timeout | null;
  /** Rank 0's tensor bytes after the pool's first run, per pool generation. */
  baselineBytes: Map<number, number>;
}

/**
 * Builds the rank group of each training run on the rank entries this worker was wired with
 * (workers/, passed in by WorkerModule), and keeps the last thread pool warm for the next
 * experiment of the same backend and ranks.
 *
 * Why: fresh threads load tfjs and the wasm engine again (1.5-4 s of setup measured) and run
 * their first seconds slower while V8 optimises tfjs (the first 10 s at 76-91% of steady
 * speed by CPU time; docs/engine.md, "Cold start"). Each experiment still builds its own model, optimizer, data and collective in those
 * threads (runTrainingRank), and disposes them; only the threads (V8's optimised code, the
 * initialised backend) carry over. A run that fails ends its threads (RankGroup), so the next
 * experiment starts on a fresh pool. The pool lives at most as long as this worker process,
 * which the recycling limits (TFLEET_WORKER_MAX_JOBS, TFLEET_WORKER_MAX_RSS_MB; the pool's
 * memory counts in the RSS) bound.
 */
export class RankGroupFactory implements OnModuleDestroy {
  private readonly logger = new Logger(RankGroupFactory.name);
  private readonly keepWarm: boolean;
  private readonly idleMs: number;
  private readonly leakRetireBytes: number;
  private warmGroup: WarmGroup | null = null;
  /** Pools this factory's warm groups have started, and the number each got. */
  private poolsStarted = 0;
  private readonly poolNumbers = new WeakMap<RankGroup, Map<number, number>>();

  constructor(
    private readonly entryPoints: RankEntryPoints,
    options: RankGroupFactoryOptions = {},
  ) {
    this.keepWarm = options.keepWarm ?? true;
    this.idleMs = options.idleMs ?? 600_000;
    this.leakRetireBytes = options.leakRetireBytes ?? 64 * 1_048_576;
  }

  /** A group that starts fresh ranks for every run. */
  create(options: GroupOptions): TrainingRankGroup {
    return new RankGroup({ ...options, entryPoints: this.entryPoints });
  }

  /**
   * The group for one experiment: the warm one when it matches (same backend and group
   * options) and is free; otherwise a new one (which becomes the warm one, replacing a
   * mismatched idle pool). A second concurrent experiment gets a group of its own that is not
   * kept. Process ranks are never kept.
   */
  async acquire(options: GroupOptions, backend: BackendName): Promise<RankGroupLease> {
    if (!this.keepWarm || options.transport !== 'threads') return this.freshLease(options);
    const key = JSON.stringify({ backend, ...options });
    let warm = this.warmGroup;
    if (warm && warm.leased) return this.freshLease(options);
    // Everything up to the lease is synchronous, so two acquires cannot both take the pool.
    let closing: Promise<void> = Promise.resolve();
    if (warm && warm.key !== key) {
      this.logger.log('ending the warm rank pool: the next experiment needs another backend, rank count or group options');
      closing = this.detachWarm();
      warm = null;
    }
    if (!warm) {
      warm = { key, group: new RankGroup({ ...options, entryPoints: this.entryPoints, keepWarm: true }), leased: false, idle: null, baselineBytes: new Map() };
      this.warmGroup = warm;
    }
    const lease = warm;
    lease.leased = true;
    if (lease.idle) clearTimeout(lease.idle);
    lease.idle = null;
    // The old pool's threads (and wasm heaps) are gone before the new one starts.
    await closing;
    let memoryBytes: number | null = null;
    return {
      group: lease.group,
      pool: () => this.poolRecord(lease.group),
      recordRankMemory: (_tensors, bytes) => (memoryBytes = bytes),
      release: () => {
        lease.leased = false;
        if (this.warmGroup !== lease) return;
        const { generation, threadIds } = lease.group.poolInfo();
        if (threadIds.length > 0 && memoryBytes !== null) {
          const baseline = lease.baselineBytes.get(generation);
          if (baseline === undefined) lease.baselineBytes.set(generation, memoryBytes);
          else if (memoryBytes - baseline > this.leakRetireBytes) {
            this.logger.warn(`ending the warm rank pool: rank 0 holds ${memoryBytes - baseline} more tensor bytes than after its first run`);
            void this.closeWarm();
            return;
          }
        }
        lease.idle = setTimeout(() => void this.closeWarm(), this.idleMs);
        lease.idle.unref();
      },
    };
  }

  /** Ends the warm pool (the worker is closing). */
  async onModuleDestroy(): Promise<void> {
    await this.closeWarm();
  }

  private async closeWarm(): Promise<void> {
    if (this.warmGroup?.leased) return;
    await this.detachWarm();
  }

  /** Forgets the warm group at once and ends its threads (it must not be leased). */
  private detachWarm(): Promise<void> {
    const warm = this.warmGroup;
    if (!warm) return Promise.resolve();
    this.warmGroup = null;
    if (warm.idle) clearTimeout(warm.idle);
    return warm.group.close();
  }

  private freshLease(options: GroupOptions): RankGroupLease {
    const group = new RankGroup({ ...options, entryPoints: this.entryPoints });
    return {
      group,
      pool: () => (options.transport === 'threads' ? this.poolRecord(group) : null),
      recordRankMemory: () => undefined,
      release: () => undefined,
    };
  }

  private poolRecord(group: RankGroup): RankPoolRecord | null {
    const { generation, runs } = group.poolInfo();
    if (generation === 0) return null;
    let numbers = this.poolNumbers.get(group);
    if (!numbers) this.poolNumbers.set(group, (numbers = new Map()));
    let pool = numbers.get(generation);
    if (pool === undefined) numbers.set(generation, (pool = ++this.poolsStarted));
    return { pool, run: runs };
  }
}
