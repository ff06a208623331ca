import type { RankTask } from '@tfleet/contracts';
import type { Collective } from '@tfleet/parallel';

/** Rank body of `benchAllReduce`: times back-to-back all-reduces of each requested length. */
interface AllReduceBenchRankArgs {
  lengths: number[];
  iterations: number;
  warmup: number;
}

export interface AllReduceBenchRankResult {
  length: number;
  /** Per-call wall time inside allReduceSum, in ms, sorted ascending. */
  sortedMs: number[];
  /** Of the total, time spent waiting for the other ranks (the collective's own count). */
  waitMs: number;
  totalMs: number;
}

export async function runRank(task: RankTask, collective: Collective, _report: unknown, args: unknown): Promise<AllReduceBenchRankResult[]> {
  const { lengths, iterations, warmup } = args as AllReduceBenchRankArgs;
  const rows: AllReduceBenchRankResult[] = [];
  for (const length of lengths) {
    const buffer = new Float32Array(length).fill(task.rank + 1);
    for (let i = 0; i < warmup; i++) await collective.allReduceSum(buffer);
    collective.takeTimings();
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      // Like a gradient: fresh values every step, so nothing is served from a warm cache line only.
      buffer.fill(task.rank + i);
      const started = performance.now();
      await collective.allReduceSum(buffer);
      times.push(performance.now() - started);
    }
    const timings = collective.takeTimings();
    rows.push({ length, sortedMs: times.sort((a, b) => a - b), waitMs: timings.waitMs ?? 0, totalMs: timings.allReduceMs });
  }
  return rows;
}
