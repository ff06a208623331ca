import * as tf from '@tensorflow/tfjs';
import type { BackendRequest } from '@tfleet/contracts';
import { backendRequestSchema } from '@tfleet/contracts';
import { initBackend, registerWasmKernels, SoloCollective, Trainer, unregisterWasmKernels } from '@tfleet/ml';
import { readSpec, specWorkload } from './spec-workload';
import { buildWorkload, isWorkloadName, summedSoftmaxCrossEntropy, Workload, WORKLOAD_NAMES, WorkloadName } from './workloads';

/*
 * npm run bench -- --workload <name|all> [--ranks 1] [--backend b] [--seconds S] [--json]
 *                  [--compare-stock] [--leak-check [steps]]
 * One JSON line per (workload, ranks, engine) on stdout; a human summary on stderr.
 */

interface Args {
  workloads: WorkloadName[];
  ranks: number[];
  backend: BackendRequest;
  seconds: number;
  json: boolean;
  compareStock: boolean;
  leakCheckSteps: number | null;
  spec: string | null;
}

export interface BenchLine {
  workload: string;
  backend: string;
  device: string;
  kernels: 'tfleet' | 'stock' | 'n/a';
  ranks: number;
  global_batch: number;
  steps: number;
  step_ms: number;
  samples_per_s: number;
  breakdown: { forward_backward_ms: number; optimizer_ms: number; all_reduce_ms: number };
  tfjs_version: string;
  error?: string;
  leak_check?: { steps: number; tensors_before: number; tensors_after: number; flat: boolean };
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: bench --workload <${WORKLOAD_NAMES.join('|')}|all> [--ranks 1] [--backend auto|wasm|cpu|tensorflow|tensorflow-gpu] [--seconds S] [--json] [--compare-stock] [--leak-check [steps]] [--spec file.json]\n`);
  process.exit(2);
}

export function parseArgs(argv: string[]): Args {
  const args: Args = { workloads: [], ranks: [1], backend: 'wasm', seconds: 4, json: false, compareStock: false, leakCheckSteps: null, spec: null };
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
        if (!parsed.success) usage('--backend must be auto, tensorflow-gpu, tensorflow, wasm or cpu');
        args.backend = parsed.data;
        break;
      }
      case '--seconds':
        args.seconds = Number(value());
        if (!(args.seconds > 0)) usage('--seconds must be positive');
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
      default:
        usage(`unknown argument '${flag}'`);
    }
  }
  if (args.workloads.length === 0 && !args.spec) usage('--workload or --spec is required');
  return args;
}

interface MeasureOptions {
  warmupSteps: number;
  seconds: number;
  maxSteps: number;
  leakCheckSteps: number | null;
}

/** Trains `workload` on the active backend with the project's Trainer and times it. */
export async function measure(workload: Workload, opts: MeasureOptions): Promise<Omit<BenchLine, 'backend' | 'device' | 'kernels' | 'tfjs_version'>> {
  const batch = workload.globalBatch;
  const data = workload.makeBatch(batch, 1);
  const optimizer = workload.makeOptimizer ? workload.makeOptimizer() : tf.train.adam(1e-3);
  const loss = workload.loss ?? summedSoftmaxCrossEntropy(data.classes);
  const trainer = new Trainer({ model: workload.model, optimizer, loss, collective: new SoloCollective() });
  try {
    for (let i = 0; i < opts.warmupSteps; i++) await trainer.step(data.inputs, data.labels, 1 / batch);
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

type Engine = { request: BackendRequest; kernels: 'tfleet' | 'stock' | 'n/a' };

async function runEngine(name: WorkloadName | 'spec', engine: Engine, args: Args): Promise<BenchLine> {
  const info = await initBackend(engine.request);
  if (info.backend === 'wasm') {
    if (engine.kernels === 'stock') unregisterWasmKernels();
    else registerWasmKernels();
  }
  const onCpu = info.backend === 'cpu';
  const workload = name === 'spec' ? specWorkload(readSpec(args.spec ?? '')) : buildWorkload(name);
  const base = { backend: info.backend, device: info.device, kernels: info.backend === 'wasm' ? engine.kernels : ('n/a' as const), tfjs_version: info.tfjsVersion };
  try {
    // The pure-JS cpu backend takes seconds per step: one warm-up and one timed step.
    const result = await measure(workload, {
      warmupSteps: onCpu ? 1 : 3,
      seconds: onCpu ? 0 : args.seconds,
      maxSteps: onCpu ? 1 : Number.MAX_SAFE_INTEGER,
      leakCheckSteps: onCpu || engine.kernels === 'stock' ? null : args.leakCheckSteps,
    });
    return { ...result, ...base };
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    return {
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

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.ranks.some((r) => r !== 1)) process.stderr.write('note: --ranks > 1 is not wired into the bench yet; measuring ranks=1 only\n');
  const engines: Engine[] = [{ request: args.backend, kernels: 'tfleet' }];
  if (args.compareStock) engines.push({ request: 'wasm', kernels: 'stock' }, { request: 'cpu', kernels: 'n/a' });
  let leaked = false;
  const names: Array<WorkloadName | 'spec'> = args.spec ? ['spec'] : args.workloads;
  for (const name of names) {
    for (const engine of engines) {
      const line = await runEngine(name, engine, args);
      if (line.leak_check && !line.leak_check.flat) leaked = true;
      if (args.json) process.stdout.write(`${JSON.stringify(line)}\n`);
      else {
        process.stdout.write(
          `${line.workload.padEnd(16)} ${`${line.backend}/${line.kernels}`.padEnd(14)} ${line.error ? `FAILED: ${line.error}` : `${line.step_ms} ms/step  ${line.samples_per_s} samples/s  (fwd+bwd ${line.breakdown.forward_backward_ms} ms, optimizer ${line.breakdown.optimizer_ms} ms)`}\n`,
        );
      }
    }
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
