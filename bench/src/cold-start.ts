import { randomUUID } from 'node:crypto';
import { type ExperimentSpec, type RankReport } from '@tfleet/contracts';
import { RankGroup } from '@tfleet/parallel';
import { RANK_ENTRY_POINTS } from '../../workers/rank-entry-points';
import * as path from 'node:path';
import { readSpec } from './spec-workload';
import { type WorkloadRankArgs, workloadRankResultSchema } from './workload.rank';

/*
 * Cold start: what an experiment records against what the bench reports, for one spec.
 *
 *   node dist/bench/src/cold-start.js --spec file.json --ranks 1 --steps N [--rounds R]
 *        [--mode fresh|warm] [--prewarm-steps K [--prewarm-spec other.json]] [--bench-seconds S] [--no-bench]
 *
 * Each round measures, in this order and in one process:
 *   1. the bench's steady state for the spec (its rank body on a fresh group, as
 *      `--ranks N --transport threads` runs it: 20 s of warm-up, then S s);
 *   2. experiments through the real training rank (`runTrainingRank`, the rank entry the
 *      worker uses: dataset, batches, evaluation, checkpoints), `maxSteps: N`:
 *      - `fresh`: one experiment on a new pool, as every experiment ran before keepWarm;
 *      - `warm`: two experiments on one `keepWarm` pool: the first cold, the second warm;
 *      - `--prewarm-steps K`: before the measured experiment, a K-step run of the same spec
 *        on the same pool (what warming the kernels at pool start would buy), or of another
 *        spec with `--prewarm-spec` (what a pool warmed by one model does for another).
 * One JSON line per experiment: the samples/s the experiment records (`completed`), its
 * ratio to the round's bench figure, and the samples/s of each 10-s window of its training.
 */

interface ColdArgs {
  spec: string;
  ranks: number;
  steps: number;
  /** Stop each experiment after this many seconds of training instead of at `steps`. */
  seconds: number;
  rounds: number;
  mode: 'fresh' | 'warm';
  prewarmSteps: number;
  /** The spec the prewarm run trains (default: the measured spec). */
  prewarmSpec: string | null;
  benchSeconds: number;
  bench: boolean;
}

function parse(argv: string[]): ColdArgs {
  const a: ColdArgs = { spec: '', ranks: 1, steps: 0, seconds: 0, rounds: 1, mode: 'fresh', prewarmSteps: 0, prewarmSpec: null, benchSeconds: 10, bench: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--spec': a.spec = value(); break;
      case '--ranks': a.ranks = Number(value()); break;
      case '--steps': a.steps = Number(value()); break;
      case '--seconds': a.seconds = Number(value()); break;
      case '--rounds': a.rounds = Number(value()); break;
      case '--mode': {
        const m = value();
        if (m !== 'fresh' && m !== 'warm') throw new Error('--mode must be fresh or warm');
        a.mode = m;
        break;
      }
      case '--prewarm-steps': a.prewarmSteps = Number(value()); break;
      case '--prewarm-spec': a.prewarmSpec = value(); break;
      case '--bench-seconds': a.benchSeconds = Number(value()); break;
      case '--no-bench': a.bench = false; break;
      default: throw new Error(`unknown argument ${flag}`);
    }
  }
  if (!a.spec || !(a.steps > 0 || a.seconds > 0) || !(a.ranks >= 1)) throw new Error('--spec, --steps or --seconds, and --ranks are required');
  return a;
}

interface ExperimentFigures {
  samplesPerSecond: number;
  trainMs: number;
  steps: number;
  /** Samples/s per 10-s window of training (parent clock, from the first progress report). */
  windows: number[];
  setupMs: number;
  tensorsLeft: number | null;
  /**
   * Samples per second of this process's CPU time (every thread: ranks, V8's compiler and GC
   * helpers, this one) from ready to the last progress report: what the run would reach on
   * cores it had to itself, so less sensitive to other load on a shared machine.
   */
  cpuSamplesPerSecond: number;
  /** The same per 10-s window. */
  cpuWindows: number[];
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * One experiment. With `seconds`, it is stopped (cooperatively, as a cancel) at the first
 * progress report after that much time since rank 0 was ready, and the figure is that report's
 * `samplesPerSecond`: samples trained over training time, the formula `completed` records.
 */
async function experiment(group: RankGroup, spec: ExperimentSpec, steps: number, ranks: number, seconds = 0): Promise<ExperimentFigures> {
  const run: ExperimentSpec = { ...spec, training: { ...spec.training, maxSteps: seconds > 0 ? 10_000_000 : steps, epochs: 1_000 } };
  const stop = new AbortController();
  let stoppedAt: { samplesPerSecond: number; step: number } | null = null;
  const experimentId = randomUUID();
  const started = performance.now();
  let readyAt = 0;
  let readyCpu = 0;
  const progress: Array<{ at: number; step: number; cpu: number }> = [];
  let completed: Extract<RankReport, { kind: 'completed' }> | null = null;
  let tensorsLeft: number | null = null;
  await group.run(
    (rank) => ({ experimentId, attempt: 1, spec: run, rank, worldSize: ranks, backend: 'wasm' }),
    (report) => {
      if (report.kind === 'ready') {
        readyAt = performance.now();
        readyCpu = cpuMs();
      }
      if (report.kind === 'progress') {
        const at = performance.now();
        progress.push({ at, step: report.progress.step, cpu: cpuMs() });
        if (seconds > 0 && stoppedAt === null && at - readyAt >= seconds * 1000) {
          stoppedAt = { samplesPerSecond: report.progress.samplesPerSecond, step: report.progress.step };
          stop.abort();
        }
      }
      if (report.kind === 'completed') completed = report;
      if (report.kind === 'memory') tensorsLeft = report.tensors;
    },
    stop.signal,
  );
  const stopped = stoppedAt as { samplesPerSecond: number; step: number } | null;
  const done = completed as Extract<RankReport, { kind: 'completed' }> | null;
  const figure = stopped ?? (done ? { samplesPerSecond: done.samplesPerSecond, step: done.steps } : null);
  if (!figure) throw new Error('the experiment neither completed nor reached its time');
  const windows: number[] = [];
  const cpuWindows: number[] = [];
  const batch = spec.training.batchSize;
  const origin = { at: readyAt, step: 0, cpu: readyCpu };
  let from = origin;
  for (const p of progress) {
    if (p.at - from.at >= 10_000) {
      windows.push(Math.round(((p.step - from.step) * batch * 1000) / (p.at - from.at)));
      cpuWindows.push(Math.round(((p.step - from.step) * batch * 1000) / (p.cpu - from.cpu)));
      from = p;
    }
  }
  const lastProgress = progress.at(-1) ?? origin;
  const cpuSamplesPerSecond = lastProgress.cpu > readyCpu ? Math.round((lastProgress.step * batch * 1000) / (lastProgress.cpu - readyCpu)) : 0;
  const last = progress.at(-1);
  return { samplesPerSecond: Math.round(figure.samplesPerSecond), trainMs: Math.round(done?.wallTimeMs ?? (last ? last.at - readyAt : 0)), steps: figure.step, windows, setupMs: Math.round(readyAt - started), tensorsLeft, cpuSamplesPerSecond, cpuWindows };
}

/**
 * The bench's steady state for the spec on `ranks` thread ranks: what `npm run bench -- --spec
 * file --ranks N --transport threads` measures (its rank body, 20 s of warm-up, then `seconds`),
 * plus samples per second of process CPU over the timed steps.
 */
async function benchSteadyState(specFile: string, ranks: number, seconds: number): Promise<{ wall: number; cpu: number | null }> {
  const rankArgs: WorkloadRankArgs = { workload: 'spec', specFile, seconds, warmupSteps: 3, warmupSeconds: 20, batchScale: 1 };
  const group = new RankGroup({ transport: 'threads', worldSize: ranks, entryPoints: RANK_ENTRY_POINTS, rankModule: path.join(__dirname, 'workload.rank.js'), rankModuleArgs: rankArgs });
  const spec = readSpec(specFile);
  const raw = await group.run((rank) => ({ experimentId: randomUUID(), attempt: 1, spec, rank, worldSize: ranks, backend: 'wasm' }), () => {});
  const results = raw.map((r) => workloadRankResultSchema.parse(r));
  const slowest = results.reduce((x, y) => (y.elapsedMs > x.elapsedMs ? y : x));
  const globalBatch = results.reduce((sum, r) => sum + r.localBatch, 0);
  const samples = globalBatch * slowest.steps;
  return { wall: Math.round((samples * 1000) / slowest.elapsedMs), cpu: slowest.cpuMs ? Math.round((samples * 1000) / slowest.cpuMs) : null };
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  const spec = readSpec(a.spec);
  for (let round = 1; round <= a.rounds; round++) {
    const steady = a.bench ? await benchSteadyState(a.spec, a.ranks, a.benchSeconds) : null;
    const bench = steady?.wall ?? null;
    if (steady) process.stdout.write(`${JSON.stringify({ round, kind: 'bench', ranks: a.ranks, samples_per_s: steady.wall, cpu_samples_per_s: steady.cpu })}\n`);
    const group = new RankGroup({ transport: 'threads', worldSize: a.ranks, entryPoints: RANK_ENTRY_POINTS, keepWarm: a.mode === 'warm' || a.prewarmSteps > 0 });
    try {
      if (a.prewarmSteps > 0) {
        const t0 = performance.now();
        const pre = await experiment(group, a.prewarmSpec ? readSpec(a.prewarmSpec) : spec, a.prewarmSteps, a.ranks);
        process.stdout.write(`${JSON.stringify({ round, kind: 'prewarm', spec: a.prewarmSpec ?? a.spec, steps: a.prewarmSteps, wall_ms: Math.round(performance.now() - t0), samples_per_s: pre.samplesPerSecond })}\n`);
      }
      const runs = a.mode === 'warm' ? 2 : 1;
      for (let i = 0; i < runs; i++) {
        const f = await experiment(group, spec, a.steps, a.ranks, a.seconds);
        const info = group.poolInfo();
        process.stdout.write(
          `${JSON.stringify({ round, kind: 'experiment', mode: a.mode, prewarm_steps: a.prewarmSteps, pool_runs: info.runs, ranks: a.ranks, samples_per_s: f.samplesPerSecond, ratio: bench ? Math.round((f.samplesPerSecond / bench) * 1000) / 1000 : null, cpu_ratio: steady?.cpu ? Math.round((f.cpuSamplesPerSecond / steady.cpu) * 1000) / 1000 : null, train_ms: f.trainMs, steps: f.steps, setup_ms: f.setupMs, windows_10s: f.windows, cpu_samples_per_s: f.cpuSamplesPerSecond, cpu_windows_10s: f.cpuWindows, tensors_left: f.tensorsLeft })}\n`,
        );
      }
    } finally {
      await group.close();
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
