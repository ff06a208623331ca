import { z } from 'zod';
import { BACKEND_NAMES } from './experiment-spec';

/** What a run actually ran on (not what it asked for); recorded with every experiment. */
export const runtimeInfoSchema = z.strictObject({
  backend: z.enum(BACKEND_NAMES),
  /** e.g. 'cpu (wasm simd, 1 thread per rank)', 'GPU 0: NVIDIA H200'. */
  device: z.string(),
  ranks: z.int().min(1),
  /** 'threads' or 'processes': how the ranks were run. */
  rankTransport: z.enum(['threads', 'processes']),
  seed: z.int(),
  tfjsVersion: z.string(),
  nodeVersion: z.string(),
  tfleetVersion: z.string(),
  workerId: z.string(),
  hostname: z.string(),
  /**
   * Thread ranks: the worker's n-th rank pool and this experiment's place on it (run 1: fresh
   * threads; 2 and more: threads kept warm from earlier experiments of the same backend and
   * ranks, whose V8 had already optimised tfjs). Absent for process ranks and older workers.
   */
  rankPool: z.strictObject({ pool: z.int().min(1), run: z.int().min(1) }).optional(),
});
export type RuntimeInfo = z.infer<typeof runtimeInfoSchema>;
