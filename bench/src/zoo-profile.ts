import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfleet/ml';
import { selectZooEntries } from './zoo';
import { zooTraining } from './zoo-training';

/*
 * taskset -c 0 node dist/bench/src/zoo-profile.js <entry>[,entry|pattern] [--warmup S] [--steps N] [--top K] [--shapes]
 *
 * Where a zoo entry's training step goes, per kernel: trains --warmup seconds (at least 3
 * steps), then runs --steps steps under tf.profile and sums each kernel's time (the wasm
 * backend times every kernel call synchronously, so the sum is close to the step's compute).
 * Prints, per entry, the kernels by total time with their share and call count per step, and
 * (--shapes: by kernel and input shapes), and the share of the step no kernel accounts for (JavaScript between kernels: tfjs-layers' graph
 * walk, tape bookkeeping, tidy).
 */

interface KernelRow {
  name: string;
  ms: number;
  calls: number;
}

/**
 * Kernel time by name (or by name and input shapes). tf.profile also lists ops (`foo__op`) and
 * custom-gradient scopes (`unnamed scope`) around the kernels they run; those are left out so
 * that no time counts twice.
 */
export function aggregateKernels(
  kernels: ReadonlyArray<{ name: string; kernelTimeMs: number | { error: string }; inputShapes?: ReadonlyArray<ReadonlyArray<number> | undefined> }>,
  byShape = false,
): KernelRow[] {
  const rows = new Map<string, KernelRow>();
  for (const k of kernels) {
    if (k.name.endsWith('__op') || k.name === 'unnamed scope') continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const key = byShape ? `${k.name} ${(k.inputShapes ?? []).map((s) => `[${(s ?? []).join(',')}]`).join(' ')}` : k.name;
    const row = rows.get(key) ?? { name: key, ms: 0, calls: 0 };
    row.ms += ms;
    row.calls += 1;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => b.ms - a.ms);
}

async function profileEntry(name: string, warmupSeconds: number, steps: number, top: number, byShape: boolean): Promise<void> {
  const training = zooTraining(name);
  try {
    const started = performance.now();
    for (let i = 0; i < 3 || performance.now() - started < warmupSeconds * 1000; i++) await training.step();
    const t0 = performance.now();
    const info = await tf.profile(async () => {
      for (let i = 0; i < steps; i++) await training.step();
    });
    const stepMs = (performance.now() - t0) / steps;
    const kernels = await Promise.all(info.kernels.map(async (k) => ({ name: k.name, kernelTimeMs: await k.kernelTimeMs, inputShapes: k.inputShapes })));
    const rows = aggregateKernels(kernels, byShape);
    const kernelMs = rows.reduce((s, r) => s + r.ms, 0) / steps;
    process.stdout.write(
      `\n${training.name}: ${stepMs.toFixed(1)} ms/step under the profiler; kernels ${kernelMs.toFixed(1)} ms (${((100 * kernelMs) / stepMs).toFixed(0)}%), ${(rows.reduce((s, r) => s + r.calls, 0) / steps).toFixed(0)} kernel calls/step\n`,
    );
    for (const r of rows.slice(0, top)) {
      process.stdout.write(`  ${r.name.padEnd(byShape ? 70 : 34)} ${(r.ms / steps).toFixed(2).padStart(8)} ms  ${((100 * r.ms) / steps / stepMs).toFixed(1).padStart(5)}%  ${(r.calls / steps).toFixed(0).padStart(5)} calls\n`);
    }
  } finally {
    training.dispose();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const patterns = (argv[0] ?? '').split(',').filter((p) => p.length > 0);
  const flag = (name: string, fallback: number): number => {
    const i = argv.indexOf(name);
    const v = i >= 0 ? Number(argv[i + 1]) : fallback;
    if (!(v >= 0)) throw new Error(`${name} must be a number, 0 or more`);
    return v;
  };
  if (patterns.length === 0) throw new Error('usage: zoo-profile <entry>[,entry|pattern] [--warmup S] [--steps N] [--top K]');
  await initBackend('wasm');
  const byShape = argv.includes('--shapes');
  for (const entry of selectZooEntries(patterns)) await profileEntry(entry.name, flag('--warmup', 5), Math.max(1, flag('--steps', 3)), flag('--top', 12), byShape);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
