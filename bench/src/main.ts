import * as tf from '@tensorflow/tfjs';
import type { BackendRequest } from '@tfleet/contracts';
import { backendRequestSchema } from '@tfleet/contracts';
import * as path from 'node:path';
import { experimentSpecSchema } from '@tfleet/contracts';
import { initBackend, needsRankProcesses, registerWasmKernels, Trainer, unregisterWasmKernels } from '@tfleet/ml';
import { RankGroup, type RankTransport, SoloCollective } from '@tfleet/parallel';
import { RANK_ENTRY_POINTS } from '../../workers/rank-entry-points';
import { readSpec, specWorkload } from './spec-workload';
import { type WorkloadRankArgs, type WorkloadRankResult, workloadRankResultSchema } from './workload.rank';
import { ANY_WORKLOAD_NAMES, buildWorkload, isWorkloadName, summedSoftmaxCrossEntropy, Workload, WORKLOAD_NAMES, WorkloadName } from './workloads';
import { selectZooEntries, type ZooEntry, zooWorkload } from './zoo';

/*
 * npm run bench -- --workload <name|all> [--ranks 1,2] [--transport threads|processes]
 *                  [--backend b] [--seconds S] [--warmup S] [--json] [--compare-stock] [--leak-check [steps]]
 *                  [--batch-scale K]   (K x each workload's global batch; the GPU check uses 4 and 16)
 * npm run bench -- --suite zoo [--entries lstm/brown,cnn/*] [--list] [--seconds S] [--warmup S] [--json]
 *                  every model-zoo family x data set it fits, default spec, synthetic batch (zoo.ts);
 *                  one rank in this thread; each line carries suite 'zoo', entry and params.
 * One JSON line per (workload, ranks, engine) on stdout; a human summary on stderr.
 *
 * Each measurement trains `--warmup` seconds (at least 3 steps) before its clock starts. V8
 * keeps optimizing tfjs' hot JavaScript for the first ~20-30 s of a run, on background threads:
 * on one rank they run on the idle core for free, on two ranks they take time from a rank and
 * the other waits at the barrier. A training run lasts minutes, so the figure that matters is
 * the one after that settles; `--warmup 0` measures the cold start instead.
 *
 * `--ranks 1` alone measures in this thread. A list with more than one rank count measures
 * every entry, 1 included, on a real RankGroup (threads for wasm/cpu, processes for the native
 * backends), so the ratio compares like with like: same rank entry, same collective code.
 */

export interface Args {
  workloads: WorkloadName[];
  ranks: number[];
  backend: BackendRequest;
  seconds: number;
  /** Seconds of training before the clock starts. */
  warmupSeconds: number;
  json: boolean;
  compareStock: boolean;
  leakCheckSteps: number | null;
  spec: string | null;
  transport: RankTransport | null;
  /** Multiplies each workload's global batch. @defaultValue 1 */
  batchScale?: number;
  /** `zoo`: the model-zoo suite instead of named workloads. */
  suite?: 'zoo';
  /** Zoo entry names or `*` patterns (null: all). */
  entries?: string[] | null;
  /** Print the suite's entry names and exit. */
  list?: boolean;
}

export interface BenchLine {
  workload: string;
  /** Set on `--suite zoo` lines. */
  suite?: 'zoo';
  /** The zoo entry (`family/dataset`), as the PyTorch peer names it. */
  entry?: string;
  /** Trainable parameters of the model measured. */
  params?: number;
  backend: string;
  device: string;
  kernels: 'tfleet' | 'stock' | 'n/a';
  ranks: number;
  global_batch: number;
  steps: number;
  step_ms: number;
  samples_per_s: number;
  breakdown: {
    forward_backward_ms: number;
    optimizer_ms: number;
    /** Copy out, barriers, reduction and copy in, per step (0 on one rank). */
    all_reduce_ms: number;
    /** all_reduce_ms as a share of step_ms. */
    all_reduce_share?: number;
    /** Part of all_reduce_ms spent waiting for a slower rank at the barriers, on the slowest rank (the one whose clock gives step_ms). */
    all_reduce_wait_ms?: number;
    /** The largest per-step barrier wait of any rank: the rank that waited most, usually not the slowest. */
    all_reduce_wait_max_ms?: number;
  };
  /** Rank transport, when measured on a RankGroup. */
  transport?: RankTransport;
  /** samples_per_s / (ranks x the 1-rank samples_per_s of the same run). */
  scaling_efficiency?: number;
  speedup?: number;
  tfjs_version: string;
  /** Seconds trained before the measurement (after at least 3 steps). */
  warmup_s?: number;
  error?: string;
  leak_check?: { steps: number; tensors_before: number; tensors_after: number; flat: boolean };
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: bench --workload <${ANY_WORKLOAD_NAMES.join('|')}|all> [--ranks 1,2] [--transport threads|processes] [--backend auto|webgpu|wasm|cpu|tensorflow|tensorflow-gpu] [--batch-scale K] [--seconds S] [--warmup S] [--json] [--compare-stock] [--leak-check [steps]] [--spec file.json]\n       bench --suite zoo [--entries family/dataset,family/*] [--list] [--seconds S] [--warmup S] [--json] [--backend b] [--leak-check [steps]]\n`);
  process.exit(2);
}

/** Long enough for V8's tier-up of the training loop to settle on the reference workloads. */
export const DEFAULT_WARMUP_SECONDS = 20;

export function parseArgs(argv: string[]): Args {
  const args: Args = { workloads: [], ranks: [1], backend: 'wasm', seconds: 4, warmupSeconds: DEFAULT_WARMUP_SECONDS, json: false, compareStock: false, leakCheckSteps: null, spec: null, transport: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--workload': {
        const v = value();
        const names = v === 'all' ? [...WORKLOAD_NAMES] : v.split(',');
        for (const n of names) if (!isWorkloadName(n)) usage(`unknown workload '${n}'`);
        args.workloads = names as WorkloadName[];
        break;
      }
      case '--ranks':
        args.ranks = value().split(',').map(Number);
        if (args.ranks.some((r) => !Number.isInteger(r) || r < 1)) usage('--ranks must be a list of positive integers');
        break;
      case '--backend': {
        const parsed = backendRequestSchema.safeParse(value());
        if (!parsed.success) usage('--backend must be auto, webgpu, tensorflow-gpu, tensorflow, wasm or cpu');
        args.backend = parsed.data;
        break;
      }
      case '--seconds':
        args.seconds = Number(value());
        if (!(args.seconds > 0)) usage('--seconds must be positive');
        break;
      case '--warmup':
        args.warmupSeconds = Number(value());
        if (!(args.warmupSeconds >= 0)) usage('--warmup must be a number of seconds, 0 or more');
        break;
      case '--batch-scale':
        args.batchScale = Number(value());
        if (!Number.isInteger(args.batchScale) || args.batchScale < 1) usage('--batch-scale must be a positive integer');
        break;
      case '--json':
        args.json = true;
        break;
      case '--compare-stock':
        args.compareStock = true;
        break;
      case '--leak-check': {
        const next = argv[i + 1];
        args.leakCheckSteps = next !== undefined && /^\d+$/.test(next) ? Number(argv[++i]) : 1000;
        break;
      }
      case '--spec':
        args.spec = value();
        break;
      case '--suite': {
        const v = value();
        if (v !== 'zoo') usage(`unknown suite '${v}' (zoo is the one suite)`);
        args.suite = v;
        break;
      }
      case '--entries':
        args.entries = value().split(',').filter((e) => e.length > 0);
        break;
      case '--list':
        args.list = true;
        break;
      case '--transport': {
        const v = value();
        if (v !== 'threads' && v !== 'processes') usage('--transport must be threads or processes');
        args.transport = v;
        break;
      }
      default:
        usage(`unknown argument '${flag}'`);
    }
  }
  if (args.suite === 'zoo') {
    if (args.workloads.length > 0 || args.spec) usage('--suite zoo takes no --workload or --spec');
    // The zoo suite runs each entry on one rank in this thread: the comparison it exists for
    // is one core against PyTorch on one core.
    if (args.ranks.some((r) => r !== 1) || args.transport !== null || args.compareStock) usage('--suite zoo runs on one rank: no --ranks, --transport or --compare-stock');
    try {
      selectZooEntries(args.entries ?? null);
    } catch (error) {
      usage(error instanceof Error ? error.message : String(error));
    }
    return args;
  }
  if (args.entries !== undefined || args.list) usage('--entries and --list go with --suite zoo');
  if (args.workloads.length === 0 && !args.spec) usage('--workload or --spec is required');
  return args;
}

interface MeasureOptions {
  warmupSteps: number;
  warmupSeconds: number;
  seconds: number;
  maxSteps: number;
  leakCheckSteps: number | null;
}

/** Trains `workload` on the active backend with the project's Trainer and times it. */
async function measure(workload: Workload, opts: MeasureOptions): Promise<Omit<BenchLine, 'backend' | 'device' | 'kernels' | 'tfjs_version'>> {
  const batch = workload.globalBatch;
  const data = workload.makeBatch(batch, 1);
  const optimizer = workload.makeOptimizer ? workload.makeOptimizer() : tf.train.adam(1e-3);
  const loss = workload.loss ?? summedSoftmaxCrossEntropy();
  const trainer = new Trainer({ model: workload.model, optimizer, loss, collective: new SoloCollective() });
  try {
    const warmupStarted = performance.now();
    for (let i = 0; i < opts.warmupSteps || performance.now() - warmupStarted < opts.warmupSeconds * 1000; i++) {
      await trainer.step(data.inputs, data.labels, 1 / batch);
    }
    trainer.takeTimings();
    let steps = 0;
    const started = performance.now();
    while (steps < opts.maxSteps && (steps === 0 || performance.now() - started < opts.seconds * 1000)) {
      await trainer.step(data.inputs, data.labels, 1 / batch);
      steps++;
    }
    const elapsed = performance.now() - started;
    const t = trainer.takeTimings();
    const line: Omit<BenchLine, 'backend' | 'device' | 'kernels' | 'tfjs_version'> = {
      workload: workload.name,
      ranks: 1,
      global_batch: batch,
      steps,
      step_ms: round(elapsed / steps),
      samples_per_s: round((batch * steps * 1000) / elapsed, 1),
      breakdown: { forward_backward_ms: round(t.computeMs / steps), optimizer_ms: round(t.applyMs / steps), all_reduce_ms: round(t.allReduceMs / steps) },
    };
    if (opts.leakCheckSteps !== null) {
      const before = tf.memory().numTensors;
      for (let i = 0; i < opts.leakCheckSteps; i++) await trainer.step(data.inputs, data.labels, 1 / batch);
      const after = tf.memory().numTensors;
      line.leak_check = { steps: opts.leakCheckSteps, tensors_before: before, tensors_after: after, flat: before === after };
    }
    return line;
  } finally {
    optimizer.dispose();
    tf.dispose([...data.inputs, data.labels]);
  }
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export type Engine = { request: BackendRequest; kernels: 'tfleet' | 'stock' | 'n/a' };

/** What one bench line measures: a named workload, the `--spec` file, or a zoo entry. */
export type BenchTarget = WorkloadName | 'spec' | ZooEntry;

function buildTarget(target: BenchTarget, args: Args): Workload {
  if (typeof target !== 'string') return zooWorkload(target);
  return target === 'spec' ? specWorkload(readSpec(args.spec ?? '')) : buildWorkload(target);
}

export async function runEngine(target: BenchTarget, engine: Engine, args: Args): Promise<BenchLine> {
  const info = await initBackend(engine.request);
  if (info.backend === 'wasm') {
    if (engine.kernels === 'stock') unregisterWasmKernels();
    else registerWasmKernels();
  }
  const onCpu = info.backend === 'cpu';
  const workload = buildTarget(target, args);
  const zoo = typeof target === 'string' ? {} : { suite: 'zoo' as const, entry: target.name, params: workload.model.countParams() };
  workload.globalBatch *= args.batchScale ?? 1;
  const base = { backend: info.backend, device: info.device, kernels: info.backend === 'wasm' ? engine.kernels : ('n/a' as const), tfjs_version: info.tfjsVersion };
  try {
    // The pure-JS cpu backend takes seconds per step: one warm-up and one timed step.
    const result = await measure(workload, {
      warmupSteps: onCpu ? 1 : 3,
      warmupSeconds: onCpu ? 0 : args.warmupSeconds,
      seconds: onCpu ? 0 : args.seconds,
      maxSteps: onCpu ? 1 : Number.MAX_SAFE_INTEGER,
      leakCheckSteps: onCpu || engine.kernels === 'stock' ? null : args.leakCheckSteps,
    });
    return { ...zoo, ...result, ...base, warmup_s: onCpu ? 0 : args.warmupSeconds };
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    return {
      ...zoo,
      workload: workload.name,
      ranks: 1,
      global_batch: workload.globalBatch,
      steps: 0,
      step_ms: 0,
      samples_per_s: 0,
      breakdown: { forward_backward_ms: 0, optimizer_ms: 0, all_reduce_ms: 0 },
      ...base,
      error: message,
    };
  } finally {
    workload.model.dispose();
    registerWasmKernels();
  }
}

const WORKLOAD_RANK_MODULE = path.join(__dirname, 'workload.rank.js');
const BENCH_EXPERIMENT_ID = '00000000-0000-4000-8000-000000000000';

/** Trains the workload on `ranks` real ranks and times it (the slowest rank's clock). */
export async function measureOnGroup(name: WorkloadName | 'spec', ranks: number, args: Args): Promise<BenchLine> {
  const info = await initBackend(args.backend);
  const transport: RankTransport = args.transport ?? (needsRankProcesses(info.backend) ? 'processes' : 'threads');
  const rankArgs: WorkloadRankArgs = { workload: name, specFile: args.spec, seconds: args.seconds, warmupSteps: 3, warmupSeconds: args.warmupSeconds, batchScale: args.batchScale ?? 1 };
  // The task's spec is not used by the bench rank body, only validated by the rank entry.
  const spec = experimentSpecSchema.parse({ dataset: { name: 'synthetic-images' }, model: { family: 'cnn' } });
  const group = new RankGroup({ transport, worldSize: ranks, entryPoints: RANK_ENTRY_POINTS, rankModule: WORKLOAD_RANK_MODULE, rankModuleArgs: rankArgs });
  const raw = await group.run((rank) => ({ experimentId: BENCH_EXPERIMENT_ID, attempt: 1, spec, rank, worldSize: ranks, backend: info.backend }), () => {});
  const results: WorkloadRankResult[] = raw.map((r) => workloadRankResultSchema.parse(r));
  const slowest = results.reduce((a, b) => (b.elapsedMs > a.elapsedMs ? b : a));
  const steps = slowest.steps;
  const globalBatch = results.reduce((sum, r) => sum + r.localBatch, 0);
  const stepMs = slowest.elapsedMs / steps;
  const allReduceMs = slowest.allReduceMs / steps;
  return {
    workload: name === 'spec' ? specWorkload(readSpec(args.spec ?? '')).name : name,
    backend: slowest.backend,
    device: slowest.device,
    kernels: slowest.backend === 'wasm' ? 'tfleet' : 'n/a',
    ranks,
    transport,
    global_batch: globalBatch,
    steps,
    step_ms: round(stepMs),
    samples_per_s: round((globalBatch * steps * 1000) / slowest.elapsedMs, 1),
    breakdown: {
      forward_backward_ms: round(slowest.computeMs / steps),
      optimizer_ms: round(slowest.applyMs / steps),
      all_reduce_ms: round(allReduceMs),
      all_reduce_share: round(allReduceMs / stepMs, 4),
      all_reduce_wait_ms: round(slowest.allReduceWaitMs / steps),
      all_reduce_wait_max_ms: round(largestWaitPerStep(results)),
    },
    tfjs_version: slowest.tfjsVersion,
    warmup_s: args.warmupSeconds,
  };
}

/** The largest per-step barrier wait across ranks (each rank's wait over its own step count). */
export function largestWaitPerStep(results: ReadonlyArray<Pick<WorkloadRankResult, 'allReduceWaitMs' | 'steps'>>): number {
  return results.reduce((max, r) => Math.max(max, r.steps > 0 ? r.allReduceWaitMs / r.steps : 0), 0);
}

function failedLine(name: string, ranks: number, error: unknown, base: Pick<BenchLine, 'backend' | 'device' | 'kernels' | 'tfjs_version'>): BenchLine {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'failed';
  return {
    workload: name,
    ranks,
    global_batch: 0,
    steps: 0,
    step_ms: 0,
    samples_per_s: 0,
    breakdown: { forward_backward_ms: 0, optimizer_ms: 0, all_reduce_ms: 0 },
    ...base,
    error: message,
  };
}

function describe(line: BenchLine): string {
  if (line.error) return `FAILED: ${line.error}`;
  const b = line.breakdown;
  const reduce = line.ranks > 1 ? `, all-reduce ${b.all_reduce_ms} ms (${((b.all_reduce_share ?? 0) * 100).toFixed(1)}%; waiting up to ${b.all_reduce_wait_max_ms ?? 0} ms)` : '';
  const scaling = line.scaling_efficiency !== undefined ? `  speedup ${line.speedup}x, efficiency ${line.scaling_efficiency}` : '';
  return `${line.step_ms} ms/step  ${line.samples_per_s} samples/s  (fwd+bwd ${b.forward_backward_ms} ms, optimizer ${b.optimizer_ms} ms${reduce})${scaling}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const onGroup = args.ranks.some((r) => r !== 1) || args.transport !== null;
  if (onGroup && args.leakCheckSteps !== null) process.stderr.write('note: --leak-check runs on one rank in this thread; it is skipped with --ranks/--transport\n');
  if (args.suite === 'zoo') {
    await runZoo(args);
    return;
  }
  const engines: Engine[] = [{ request: args.backend, kernels: 'tfleet' }];
  if (args.compareStock) engines.push({ request: 'wasm', kernels: 'stock' }, { request: 'cpu', kernels: 'n/a' });
  let leaked = false;
  const names: Array<WorkloadName | 'spec'> = args.spec ? ['spec'] : args.workloads;
  const emit = (line: BenchLine) => {
    if (line.leak_check && !line.leak_check.flat) leaked = true;
    if (args.json) process.stdout.write(`${JSON.stringify(line)}\n`);
    else process.stdout.write(`${line.workload.padEnd(16)} ${`${line.backend}/${line.kernels}`.padEnd(14)} ranks=${line.ranks} ${describe(line)}\n`);
  };
  for (const name of names) {
    for (const engine of engines) {
      if (!onGroup || engine.kernels !== 'tfleet') {
        emit(await runEngine(name, engine, args));
        continue;
      }
      let oneRank: number | null = null;
      for (const ranks of args.ranks) {
        let line: BenchLine;
        try {
          line = await measureOnGroup(name, ranks, args);
        } catch (error) {
          const info = await initBackend(args.backend);
          line = failedLine(name, ranks, error, { backend: info.backend, device: info.device, kernels: 'tfleet', tfjs_version: info.tfjsVersion });
        }
        if (!line.error && ranks === 1) oneRank = line.samples_per_s;
        if (!line.error && ranks > 1 && oneRank !== null && oneRank > 0) {
          line.speedup = round(line.samples_per_s / oneRank);
          line.scaling_efficiency = round(line.samples_per_s / (ranks * oneRank), 3);
        }
        emit(line);
      }
    }
  }
  if (leaked) {
    process.stderr.write('leak check failed: tf.memory().numTensors grew during training\n');
    process.exitCode = 1;
  }
}

/** `--suite zoo`: every selected entry in turn, one line each, in this thread. */
async function runZoo(args: Args): Promise<void> {
  const entries = selectZooEntries(args.entries ?? null);
  if (args.list) {
    for (const entry of entries) process.stdout.write(`${entry.name}\n`);
    return;
  }
  let leaked = false;
  for (const entry of entries) {
    const line = await runEngine(entry, { request: args.backend, kernels: 'tfleet' }, args);
    if (line.leak_check && !line.leak_check.flat) leaked = true;
    if (args.json) process.stdout.write(`${JSON.stringify(line)}\n`);
    else process.stdout.write(`${entry.name.padEnd(28)} params=${String(line.params ?? '?').padEnd(9)} ${describe(line)}\n`);
  }
  if (leaked) {
    process.stderr.write('leak check failed: tf.memory().numTensors grew during training\n');
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
