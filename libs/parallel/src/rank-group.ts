import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { type RankReport, rankReportSchema, type RankTask } from '@tfleet/contracts';
import { Piscina } from 'piscina';
import { z } from 'zod';
import { errorMessage, failureLabel, GroupFailureReason, RankGroupError } from './collective-errors';
import { type HubFailure, ProcessCollectiveHub } from './process-collective-hub';
import { processRankMessageSchema, type ProcessParentMessage, type ThreadRankPayload, threadRankMessageSchema } from './rank-messages';
import {
  createSharedCollectiveState,
  DEFAULT_BARRIER_TIMEOUT_MS,
  DEFAULT_COLLECTIVE_CAPACITY,
  DEFAULT_SETUP_TIMEOUT_MS,
  type SharedAbortRecord,
  SharedGroupControl,
} from './shared-memory-collective';

export type RankTransport = 'threads' | 'processes';

/**
 * The compiled entry files a rank starts from: one run by piscina in a worker thread, one
 * forked as a child process. They belong to whoever composes the group (the worker app, the
 * bench, tests), which passes them in; this lib does not know where the project is built.
 */
export interface RankEntryPoints {
  /** Absolute path of the piscina entry (default export: one thread rank). */
  thread: string;
  /** Absolute path of the child-process entry. */
  process: string;
}

export interface RankGroupOptions {
  /**
   * `threads`: piscina worker threads sharing memory (wasm and cpu backends).
   * `processes`: forked child processes (tfjs-node and tfjs-node-gpu, which load in one thread
   * per process).
   */
  transport: RankTransport;
  worldSize: number;
  /** Where ranks start; only the entry of `transport` has to exist. */
  entryPoints: RankEntryPoints;
  /** How long a rank may keep the others waiting at a collective operation. @defaultValue 30,000 ms */
  barrierTimeoutMs?: number;
  /** The same for the first operation, which also covers model build and data loading. @defaultValue 300,000 ms */
  setupTimeoutMs?: number;
  /** Threads: floats per shared slot; longer vectors are reduced in segments. @defaultValue 1,048,576 */
  capacity?: number;
  /** Threads: how long a rank busy-waits at a barrier before sleeping. @defaultValue 2 ms when the ranks fit the cores, else 0 */
  spinMs?: number;
  /**
   * V8 semi-space of each rank (its young generation is three times this). @defaultValue
   * {@link DEFAULT_RANK_SEMI_SPACE_MB}
   */
  semiSpaceMb?: number;
  /**
   * Absolute path of a compiled module exporting `runRank(task, collective, report, args)`
   * to run instead of the training loop (tests, the all-reduce bench).
   */
  rankModule?: string;
  /** Passed to `runRank` as `args` (structured-cloneable). */
  rankModuleArgs?: unknown;
  /** After a failure, how long the other ranks get to wind down before they are terminated. @defaultValue 1,000 ms */
  failureGraceMs?: number;
  /** Processes: `CUDA_VISIBLE_DEVICES` of each rank, assigned round-robin (e.g. `['0', '1']`). */
  gpuDevices?: readonly string[];
  /** Processes on webgpu: `TFLEET_WEBGPU_ADAPTER_INDEX` of each rank, assigned round-robin. */
  webgpuAdapters?: readonly number[];
  /** Processes: `TF_NUM_INTRAOP_THREADS` of each rank (inter-op is set to 1). */
  intraOpThreads?: number;
  /** Processes: base environment of each rank. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Processes: node flags of each rank. @defaultValue none */
  execArgv?: readonly string[];
  /**
   * Threads: keep the pool's threads after a run that ended without a failure, for the next
   * `run` of this group (call {@link RankGroup.close} when done). A thread has then loaded
   * tfjs and initialised its backend, and its V8 has optimised tfjs' hot code: a run on a warm
   * pool skips that setup (1.5-4 s measured) and most of the slow first seconds of a fresh
   * thread (docs/engine.md, "Cold start"). A run that fails
   * (a rank threw, hung, died or sent garbage, or `fail` was called) still ends every thread,
   * and the next run starts a fresh pool. Processes always start fresh. @defaultValue false
   */
  keepWarm?: boolean;
}

/** Which pool a thread group's run ran on; see {@link RankGroup.poolInfo}. */
export interface RankPoolInfo {
  /** 1 for the group's first pool; +1 every time a pool is started again (after a failure). */
  generation: number;
  /** Runs started on this pool so far, the current one included (1: a fresh pool). */
  runs: number;
  /** `threadId` of each of the pool's threads (empty when no pool is alive). */
  threadIds: number[];
}

export type RankReportHandler = (report: RankReport, rank: number) => void;

const DEFAULT_FAILURE_GRACE_MS = 1_000;
/**
 * A training step allocates 0.4-1.8 MB of short-lived tfjs bookkeeping (tensors, tape nodes)
 * on the reference workloads. With V8's default 16 MB semi-space that is a scavenge every few
 * steps, and objects still referenced by the step in flight get promoted, feeding concurrent
 * marking on V8's helper threads; on a machine where every core runs a rank those helpers take
 * time from a rank and the others wait for it at the next barrier. Measured on the 2-core VM,
 * transformer-enc on 2 ranks: 606-617 -> 640-658 samples/s and the all-reduce share 4.5 -> 2.9%
 * with 64 MB (1 rank: 335-342 -> 343-344).
 */
const DEFAULT_RANK_SEMI_SPACE_MB = 64;

const optionsSchema = z.strictObject({
  transport: z.enum(['threads', 'processes']),
  worldSize: z.int().min(1).max(1_024),
  entryPoints: z.strictObject({ thread: z.string().min(1), process: z.string().min(1) }),
  barrierTimeoutMs: z.number().positive().optional(),
  setupTimeoutMs: z.number().positive().optional(),
  capacity: z.int().min(1).optional(),
  spinMs: z.number().min(0).max(60_000).optional(),
  semiSpaceMb: z.int().min(1).max(1_024).optional(),
  rankModule: z.string().min(1).optional(),
  rankModuleArgs: z.unknown().optional(),
  failureGraceMs: z.number().min(0).optional(),
  gpuDevices: z.array(z.string().min(1)).readonly().optional(),
  webgpuAdapters: z.array(z.int().min(0)).readonly().optional(),
  intraOpThreads: z.int().min(1).optional(),
  env: z.record(z.string(), z.string().optional()).optional(),
  execArgv: z.array(z.string()).readonly().optional(),
  keepWarm: z.boolean().optional(),
});

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * The parent side of a data-parallel group: starts `worldSize` ranks (one piscina pool with one
 * long-lived task per thread, or one child process each), relays their validated reports, and
 * ends them all. Cancellation is cooperative: a stop request is seen by every rank at the same
 * step. If a rank throws, hangs past the barrier timeout or dies, the run rejects with a
 * {@link RankGroupError} naming the rank, and every thread or process is terminated.
 */
export class RankGroup {
  readonly transport: RankTransport;
  readonly worldSize: number;
  private readonly options: RankGroupOptions;
  private readonly threadEntry: string;
  private readonly processEntry: string;
  private running = false;
  private stopCurrent: (() => void) | null = null;
  private failCurrent: ((message: string) => void) | null = null;
  private pool: Piscina | null = null;
  private poolGeneration = 0;
  private runsOnPool = 0;
  private closed = false;
  private children: ChildProcess[] = [];

  constructor(options: RankGroupOptions) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`options.${issue.path.join('.')}: ${issue.message}`);
    }
    this.options = options;
    this.transport = options.transport;
    this.worldSize = options.worldSize;
    this.threadEntry = options.entryPoints.thread;
    this.processEntry = options.entryPoints.process;
    const entry = this.transport === 'threads' ? this.threadEntry : this.processEntry;
    if (!existsSync(entry)) throw new Error(`rank entry ${entry} does not exist (is the project built?)`);
    if (options.rankModule !== undefined && !path.isAbsolute(options.rankModule)) {
      throw new Error(`options.rankModule must be an absolute path, got ${options.rankModule}`);
    }
  }

  /**
   * Runs one rank per task until all finish. Resolves with each rank's return value (the
   * training loop returns nothing). `stop` requests a cooperative stop.
   */
  async run(taskForRank: (rank: number) => RankTask, onReport: RankReportHandler, stop?: AbortSignal): Promise<unknown[]> {
    if (this.running) throw new Error('RankGroup.run is already running');
    if (this.closed) throw new Error('RankGroup.run after close');
    const tasks = Array.from({ length: this.worldSize }, (_, rank) => {
      const task = taskForRank(rank);
      if (task.rank !== rank || task.worldSize !== this.worldSize) {
        throw new Error(`task for rank ${rank} has rank ${task.rank} of worldSize ${task.worldSize}, expected rank ${rank} of ${this.worldSize}`);
      }
      return task;
    });
    this.running = true;
    const onAbort = () => this.requestStop();
    try {
      const run = this.transport === 'threads' ? this.runThreads(tasks, onReport) : this.runProcesses(tasks, onReport);
      // The run has installed its stop hook synchronously.
      if (stop?.aborted) this.requestStop();
      stop?.addEventListener('abort', onAbort, { once: true });
      return await run;
    } finally {
      stop?.removeEventListener('abort', onAbort);
      this.stopCurrent = null;
      this.failCurrent = null;
      this.running = false;
    }
  }

  /** Asks the ranks of the current run to stop after their current step. */
  requestStop(): void {
    this.stopCurrent?.();
  }

  /**
   * Fails the current run from outside (a watchdog that saw no progress): the ranks are
   * terminated as after a rank failure, and `run` rejects with a RankGroupError carrying
   * `message`. A rank blocked for good (not at a barrier) is ended only this way.
   */
  fail(message: string): void {
    this.failCurrent?.(message);
  }

  /**
   * Threads: the pool the current (or last) run ran on. With `keepWarm`, a second run on the
   * same pool has the same generation and thread ids and `runs` 2.
   */
  poolInfo(): RankPoolInfo {
    return { generation: this.poolGeneration, runs: this.runsOnPool, threadIds: (this.pool?.threads ?? []).map((t) => t.threadId) };
  }

  /** Ends a warm pool's threads; the group runs nothing more. Safe to call at any time but during a run. */
  async close(): Promise<void> {
    if (this.running) throw new Error('RankGroup.close during a run');
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }

  /** Threads or processes of this group still alive (0 once a run has ended, however it ended, unless a warm pool is kept). */
  liveWorkers(): number {
    const threads = this.pool?.threads.length ?? 0;
    const processes = this.children.filter((child) => child.exitCode === null && child.signalCode === null).length;
    return threads + processes;
  }

  private get semiSpaceMb(): number {
    return this.options.semiSpaceMb ?? DEFAULT_RANK_SEMI_SPACE_MB;
  }

  private get barrierTimeoutMs(): number {
    return this.options.barrierTimeoutMs ?? DEFAULT_BARRIER_TIMEOUT_MS;
  }

  private get setupTimeoutMs(): number {
    return this.options.setupTimeoutMs ?? Math.max(DEFAULT_SETUP_TIMEOUT_MS, this.barrierTimeoutMs);
  }

  private get failureGraceMs(): number {
    return this.options.failureGraceMs ?? DEFAULT_FAILURE_GRACE_MS;
  }

  /** Validates a report and hands it on; returns a failure message instead of throwing. */
  private deliver(rank: number, raw: unknown, onReport: RankReportHandler): string | null {
    const parsed = rankReportSchema.safeParse(raw);
    if (!parsed.success) return `rank ${rank} sent an invalid report: ${z.prettifyError(parsed.error)}`;
    try {
      onReport(parsed.data, rank);
      return null;
    } catch (error) {
      return `the report handler threw on a '${parsed.data.kind}' report from rank ${rank}: ${errorMessage(error)}`;
    }
  }

  private async runThreads(tasks: RankTask[], onReport: RankReportHandler): Promise<unknown[]> {
    const { worldSize } = this;
    const shared = createSharedCollectiveState({
      worldSize,
      capacity: this.options.capacity ?? DEFAULT_COLLECTIVE_CAPACITY,
      spinMs: this.options.spinMs,
      barrierTimeoutMs: this.barrierTimeoutMs,
      setupTimeoutMs: this.setupTimeoutMs,
    });
    const control = new SharedGroupControl(shared);
    this.stopCurrent = () => control.requestStop();
    this.failCurrent = (message) => failFromParent(0, message);
    // One long-lived task per thread: the replicas live as long as the run (the threads, with
    // keepWarm, as long as no run fails).
    const pool = this.pool ?? this.startPool();
    this.runsOnPool++;
    const errors = new Array<unknown>(worldSize);
    const results = new Array<unknown>(worldSize);
    const failed = deferred();
    let parentFailure: string | null = null;
    const failFromParent = (rank: number, message: string) => {
      if (control.abort(GroupFailureReason.Protocol, rank)) parentFailure = message;
      failed.resolve();
    };
    const ports: MessagePort[] = [];

    const rankRuns = tasks.map((task, rank) => {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      const ended = deferred();
      port1.on('message', (raw: unknown) => {
        const parsed = threadRankMessageSchema.safeParse(raw);
        if (!parsed.success) return failFromParent(rank, `rank ${rank} sent an invalid message: ${z.prettifyError(parsed.error)}`);
        if (parsed.data.type === 'end') return ended.resolve();
        const problem = this.deliver(rank, parsed.data.report, onReport);
        if (problem) failFromParent(rank, problem);
      });
      // Messages posted before the rank closed its port arrive first; this is a fallback.
      port1.once('close', () => ended.resolve());
      const payload: ThreadRankPayload = {
        task,
        shared,
        reportPort: port2,
        rankModule: this.options.rankModule ?? null,
        rankModuleArgs: this.options.rankModuleArgs,
      };
      return pool.run(payload, { transferList: [port2] }).then(
        async (result: unknown) => {
          await ended.promise;
          results[rank] = result;
        },
        (error: unknown) => {
          errors[rank] = error;
          control.abort(GroupFailureReason.Threw, rank);
          failed.resolve();
        },
      );
    });
    const all = Promise.all(rankRuns);
    let clean = false;
    try {
      await Promise.race([all, failed.promise]);
      // Ranks blocked at a barrier wake at once; a hung or busy rank is terminated below.
      if (control.readAbort()) await Promise.race([all, delay(this.failureGraceMs)]);
      else clean = true;
    } finally {
      for (const port of ports) port.close();
      // A failed run may leave a thread mid-step, blocked, or holding the dead run's tensors:
      // never reuse it.
      if (!(clean && this.options.keepWarm && control.readAbort() === null)) {
        this.pool = null;
        await pool.destroy();
      }
    }
    const record = control.readAbort();
    if (record) throw this.describeThreadFailure(record, errors, parentFailure);
    return results;
  }

  private startPool(): Piscina {
    const pool = new Piscina({
      filename: this.threadEntry,
      minThreads: this.worldSize,
      maxThreads: this.worldSize,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      // V8 sizes a young generation as three semi-spaces.
      resourceLimits: { maxYoungGenerationSizeMb: 3 * this.semiSpaceMb },
    });
    this.pool = pool;
    this.poolGeneration++;
    this.runsOnPool = 0;
    return pool;
  }

  private describeThreadFailure(record: SharedAbortRecord, errors: unknown[], parentFailure: string | null): RankGroupError {
    const { culprit, reporter, reason } = record;
    const label = failureLabel(reason);
    let detail: string;
    let cause: unknown;
    if (reason === GroupFailureReason.Threw) {
      cause = errors[culprit];
      detail = `rank ${culprit} threw: ${cause === undefined ? 'unknown error' : errorMessage(cause)}`;
    } else if (reporter < 0) {
      detail = parentFailure ?? `rank ${culprit} failed (${label})`;
    } else {
      // Timeouts and mismatches: the rank that noticed wrote the message, naming the culprit.
      cause = errors[reporter];
      detail = cause === undefined ? `rank ${culprit} failed (${label})` : errorMessage(cause);
    }
    return new RankGroupError(`data-parallel run on ${this.worldSize} thread ranks failed: ${detail}`, culprit, label, { cause });
  }

  private async runProcesses(tasks: RankTask[], onReport: RankReportHandler): Promise<unknown[]> {
    const { worldSize } = this;
    const results = new Array<unknown>(worldSize);
    const done = new Array<boolean>(worldSize).fill(false);
    const settled = deferred();
    let failure: (HubFailure & { cause?: unknown }) | null = null;

    const children: ChildProcess[] = [];
    this.children = children;
    const isAlive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
    const send = (rank: number, message: ProcessParentMessage) => {
      const child = children[rank];
      if (!child || !child.connected) return;
      // A send fails only when the rank is gone; its exit handler reports that, with the cause.
      child.send(message, () => {});
    };
    const fail = (next: HubFailure & { cause?: unknown }) => {
      if (failure) {
        // A rank's own report of why it died beats the bare fact that it exited.
        if (failure.reason === GroupFailureReason.Exited && next.reason === GroupFailureReason.Threw && next.culprit === failure.culprit) {
          failure = next;
        }
        return;
      }
      failure = next;
      hub.close();
      for (const child of children) if (isAlive(child)) child.kill('SIGKILL');
      settled.resolve();
    };
    const hub = new ProcessCollectiveHub({
      worldSize,
      barrierTimeoutMs: this.barrierTimeoutMs,
      setupTimeoutMs: this.setupTimeoutMs,
      send,
      onFailure: fail,
    });
    this.failCurrent = (message) => fail({ reason: GroupFailureReason.Protocol, culprit: 0, message });
    this.stopCurrent = () => {
      hub.requestStop();
      for (let rank = 0; rank < worldSize; rank++) send(rank, { type: 'stop' });
    };

    const onMessage = (rank: number, raw: unknown) => {
      const parsed = processRankMessageSchema.safeParse(raw);
      if (!parsed.success) {
        return fail({ reason: GroupFailureReason.Protocol, culprit: rank, message: `rank ${rank} sent an invalid message: ${z.prettifyError(parsed.error)}` });
      }
      const message = parsed.data;
      switch (message.type) {
        case 'collective':
          return hub.contribute(rank, message);
        case 'report': {
          const problem = this.deliver(rank, message.report, onReport);
          if (problem) fail({ reason: GroupFailureReason.Protocol, culprit: rank, message: problem });
          return;
        }
        case 'done':
          done[rank] = true;
          results[rank] = message.result;
          if (done.every(Boolean)) settled.resolve();
          return;
        case 'failed': {
          const cause = new Error(message.message);
          if (message.stack) cause.stack = message.stack;
          return fail({ reason: GroupFailureReason.Threw, culprit: rank, message: `rank ${rank} threw: ${message.message}`, cause });
        }
      }
    };

    const exits = tasks.map((task, rank) => {
      const child = fork(this.processEntry, [], {
        serialization: 'advanced',
        env: this.childEnv(rank),
        execArgv: [`--max-semi-space-size=${this.semiSpaceMb}`, ...(this.options.execArgv ?? [])],
        stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      });
      children.push(child);
      let stderrTail = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        process.stderr.write(chunk);
        stderrTail = (stderrTail + chunk.toString()).slice(-2_000);
      });
      child.on('message', (raw: unknown) => onMessage(rank, raw));
      child.on('error', (error) => fail({ reason: GroupFailureReason.Threw, culprit: rank, message: `rank ${rank} process error: ${error.message}`, cause: error }));
      const exited = new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          if (!done[rank]) {
            const how = signal ? `signal ${signal}` : `code ${code}`;
            const tail = stderrTail.trim() ? `; stderr: ${stderrTail.trim().split('\n').slice(-5).join(' | ')}` : '';
            fail({ reason: GroupFailureReason.Exited, culprit: rank, message: `rank ${rank} process exited with ${how} before finishing${tail}` });
          }
          resolve();
        });
      });
      send(rank, {
        type: 'start',
        task,
        rankModule: this.options.rankModule ?? null,
        rankModuleArgs: this.options.rankModuleArgs,
      });
      return exited;
    });

    const allExited = Promise.all(exits);
    try {
      await settled.promise;
      // Finished ranks exit on their own; a straggler is killed after the grace period.
      await Promise.race([allExited, delay(this.failureGraceMs)]);
    } finally {
      hub.close();
      for (const child of children) if (isAlive(child)) child.kill('SIGKILL');
      await allExited;
    }
    const failed = failure as (HubFailure & { cause?: unknown }) | null;
    if (failed) {
      throw new RankGroupError(
        `data-parallel run on ${worldSize} process ranks failed: ${failed.message}`,
        failed.culprit,
        failureLabel(failed.reason),
        { cause: failed.cause },
      );
    }
    return results;
  }

  private childEnv(rank: number): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...(this.options.env ?? process.env) };
    // tfjs-node-gpu otherwise takes all GPU memory at start (tfjs#671).
    env['TF_FORCE_GPU_ALLOW_GROWTH'] ??= 'true';
    const gpus = this.options.gpuDevices;
    if (gpus && gpus.length > 0) env['CUDA_VISIBLE_DEVICES'] = gpus[rank % gpus.length];
    const adapters = this.options.webgpuAdapters;
    if (adapters && adapters.length > 0) env['TFLEET_WEBGPU_ADAPTER_INDEX'] = String(adapters[rank % adapters.length]);
    if (this.options.intraOpThreads !== undefined) {
      env['TF_NUM_INTRAOP_THREADS'] = String(this.options.intraOpThreads);
      env['TF_NUM_INTEROP_THREADS'] = '1';
    }
    return env;
  }
}
