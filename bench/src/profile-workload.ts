import * as tf from '@tensorflow/tfjs';
import { initBackend, Trainer } from '@tfleet/ml';
import { SoloCollective } from '@tfleet/parallel';
import { ANY_WORKLOAD_NAMES, buildWorkload, isWorkloadName, summedSoftmaxCrossEntropy } from './workloads';

/**
 * Where one training step of a bench workload spends its time, in this thread:
 *
 *     taskset -c 1 node dist/bench/src/profile-workload.js --workload transformer-enc [--backend wasm] [--warmup-steps 40] [--steps 60] [--profile-steps 8]
 *
 * Prints the CPU time per step (process.cpuUsage over windows of 5 steps: minimum, first
 * quartile, median; CPU time moves less than wall time when other jobs share the core), then
 * tf.profile's kernels per step by name: calls and wall time, each kernel's time being its
 * smallest over the profiled steps (a step that was preempted inflates a kernel; the minimum
 * drops that). Nested scopes (fusedMatMul__op, custom gradients) count as their own rows, so
 * the times do not add up to the step.
 */

interface Args {
  workload: string;
  backend: string;
  warmupSteps: number;
  steps: number;
  profileSteps: number;
}

function parse(argv: string[]): Args {
  const args: Args = { workload: 'transformer-enc', backend: 'wasm', warmupSteps: 40, steps: 60, profileSteps: 8 };
  for (let i = 0; i < argv.length; i++) {
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return v;
    };
    const count = (name: string, min: number): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}`);
      return n;
    };
    switch (argv[i]) {
      case '--workload':
        args.workload = value();
        break;
      case '--backend':
        args.backend = value();
        break;
      case '--warmup-steps':
        args.warmupSteps = count('--warmup-steps', 0);
        break;
      case '--steps':
        args.steps = count('--steps', 5);
        break;
      case '--profile-steps':
        args.profileSteps = count('--profile-steps', 1);
        break;
      default:
        throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!isWorkloadName(args.workload)) throw new Error(`--workload must be one of ${ANY_WORKLOAD_NAMES.join(', ')}`);
  return args;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (!isWorkloadName(args.workload)) return;
  const info = await initBackend(args.backend as Parameters<typeof initBackend>[0]);
  const workload = buildWorkload(args.workload);
  const batch = workload.globalBatch;
  const data = workload.makeBatch(batch, 1);
  const optimizer = workload.makeOptimizer ? workload.makeOptimizer() : tf.train.adam(1e-3);
  const trainer = new Trainer({ model: workload.model, optimizer, loss: workload.loss ?? summedSoftmaxCrossEntropy(), collective: new SoloCollective() });
  const step = (): Promise<number> => trainer.step(data.inputs, data.labels, 1 / batch);
  for (let i = 0; i < args.warmupSteps; i++) await step();

  const windows: number[] = [];
  for (let w = 0; w < Math.floor(args.steps / 5); w++) {
    const started = process.cpuUsage();
    for (let i = 0; i < 5; i++) await step();
    const used = process.cpuUsage(started);
    windows.push((used.user + used.system) / 5000);
  }
  windows.sort((a, b) => a - b);
  const at = (q: number): string => windows[Math.floor(q * (windows.length - 1))]!.toFixed(1);
  console.log(`${args.workload} on ${info.backend}: CPU per step min ${at(0)} p25 ${at(0.25)} median ${at(0.5)} ms (${windows.length} windows of 5 steps)`);

  // Per (kernel, input shapes): calls per step and the smallest per-step time seen.
  const rows = new Map<string, { name: string; calls: number; perStep: number[] }>();
  for (let s = 0; s < args.profileSteps; s++) {
    const profile = await tf.profile(async () => {
      await step();
    });
    for (const k of profile.kernels) {
      const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
      const row = rows.get(key) ?? { name: k.name, calls: 0, perStep: new Array<number>(args.profileSteps).fill(0) };
      row.calls++;
      row.perStep[s]! += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      rows.set(key, row);
    }
  }
  const byName = new Map<string, { calls: number; ms: number }>();
  for (const row of rows.values()) {
    const entry = byName.get(row.name) ?? { calls: 0, ms: 0 };
    entry.calls += row.calls / args.profileSteps;
    entry.ms += Math.min(...row.perStep);
    byName.set(row.name, entry);
  }
  // tf.profile also lists the scopes of ops built on customGrad / op() ('unnamed scope',
  // 'fusedMatMul__op'), around kernels it lists as well.
  const isScope = (name: string): boolean => name.endsWith('__op') || name.includes('scope');
  const count = (scopes: boolean): number => [...byName].filter(([name]) => isScope(name) === scopes).reduce((sum, [, e]) => sum + e.calls, 0);
  console.log(`kernel calls per step: ${count(false)} (and ${count(true)} scopes)`);
  for (const [name, e] of [...byName].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`${e.ms.toFixed(2).padStart(9)} ms ${String(e.calls).padStart(5)} calls  ${name}`);
  }
  optimizer.dispose();
  tf.dispose([...data.inputs, data.labels]);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
