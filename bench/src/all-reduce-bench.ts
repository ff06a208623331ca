import * as path from 'node:path';
import { experimentSpecSchema } from '@tfleet/contracts';
import { RankGroup, type RankTransport } from '@tfleet/parallel';
import { RANK_ENTRY_POINTS } from '../../workers/rank-entry-points';

export interface AllReduceBenchOptions {
  transport: RankTransport;
  worldSize: number;
  /** Vector lengths to time, in floats (a model's parameter count, plus 2 for the trainer's loss and stop vote). */
  lengths: readonly number[];
  /** @defaultValue 200 */
  iterations?: number;
  /** @defaultValue 20 */
  warmup?: number;
}

export interface AllReduceBenchRow {
  transport: RankTransport;
  worldSize: number;
  length: number;
  iterations: number;
  /** Mean wall time of one allReduceSum (copy in, barriers, reduction, copy out), slowest rank. */
  meanMs: number;
  medianMs: number;
  p90Ms: number;
  /** Mean part of it spent waiting for the other ranks, slowest rank. */
  waitMs: number;
  /** Mean wait of the rank that waited most (usually not the slowest). */
  maxWaitMs: number;
}

/** Parameter counts of the reference workloads (../shared/peers/WORKLOADS.md), computed from their layer shapes. */
export const REFERENCE_WORKLOAD_PARAMS: Readonly<Record<string, number>> = {
  'cnn-mnist': 12_810,
  'lstm-lm': 92_736,
  'gru-lm': 72_128,
  'transformer-enc': 289_600,
};

const BENCH_RANK_MODULE = path.join(__dirname, 'all-reduce-bench.rank.js');

interface RankRow {
  length: number;
  sortedMs: number[];
  waitMs: number;
  totalMs: number;
}

/**
 * Times the all-reduce alone, on real ranks (threads or processes) in lockstep: what one
 * training step pays for the collective when no rank is late. For the bench's per-step
 * breakdown, a training run's own `Collective.takeTimings()` gives the same figure in context.
 */
export async function benchAllReduce(options: AllReduceBenchOptions): Promise<AllReduceBenchRow[]> {
  const iterations = options.iterations ?? 200;
  const warmup = options.warmup ?? 20;
  const { transport, worldSize } = options;
  const spec = experimentSpecSchema.parse({ dataset: { name: 'synthetic-images' }, model: { family: 'cnn' } });
  const group = new RankGroup({
    transport,
    worldSize,
    entryPoints: RANK_ENTRY_POINTS,
    rankModule: BENCH_RANK_MODULE,
    rankModuleArgs: { lengths: [...options.lengths], iterations, warmup },
  });
  const perRank = (await group.run(
    (rank) => ({ experimentId: '00000000-0000-4000-8000-000000000000', attempt: 1, spec, rank, worldSize, backend: 'cpu' }),
    () => {},
  )) as RankRow[][];
  return options.lengths.map((length, k) => {
    const rows = perRank.map((rows) => rows[k]!);
    const slowest = rows.reduce((a, b) => (b.totalMs > a.totalMs ? b : a));
    const at = (q: number) => slowest.sortedMs[Math.min(slowest.sortedMs.length - 1, Math.floor(q * slowest.sortedMs.length))]!;
    return {
      transport,
      worldSize,
      length,
      iterations,
      meanMs: slowest.totalMs / iterations,
      medianMs: at(0.5),
      p90Ms: at(0.9),
      waitMs: slowest.waitMs / iterations,
      maxWaitMs: Math.max(...rows.map((row) => row.waitMs)) / iterations,
    };
  });
}

/** `node dist/bench/src/all-reduce-bench.js [threads|processes] [ranks]` prints one JSON line per workload. */
async function main(argv: string[]): Promise<void> {
  const transport = (argv[0] ?? 'threads') as RankTransport;
  const worldSize = Number(argv[1] ?? 2);
  const names = Object.keys(REFERENCE_WORKLOAD_PARAMS);
  const rows = await benchAllReduce({ transport, worldSize, lengths: names.map((name) => REFERENCE_WORKLOAD_PARAMS[name]! + 2) });
  rows.forEach((row, k) => console.log(JSON.stringify({ workload: names[k], ...row })));
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
