import * as tf from '@tensorflow/tfjs';
import { DEFAULT_WARMUP_SECONDS, measureOnGroup, parseArgs } from './main';

describe('bench on real ranks', () => {
  it('parses --ranks and --transport, and rejects a bad transport', () => {
    const args = parseArgs(['--workload', 'cnn-mnist', '--ranks', '1,2', '--transport', 'processes', '--seconds', '0.5']);
    expect(args.ranks).toEqual([1, 2]);
    expect(args.transport).toBe('processes');
    expect(args.seconds).toBe(0.5);
    expect(args.warmupSeconds).toBe(DEFAULT_WARMUP_SECONDS);
    expect(parseArgs(['--workload', 'gru-lm', '--warmup', '0']).warmupSeconds).toBe(0);
  });

  it.each(['threads', 'processes'] as const)('trains cnn-mnist on 2 %s ranks and reports the per-step breakdown', async (transport) => {
    const before = tf.memory().numTensors;
    const args = parseArgs(['--workload', 'cnn-mnist', '--ranks', '2', '--transport', transport, '--seconds', '0.3', '--warmup', '0.4', '--backend', 'wasm']);
    const started = performance.now();
    const line = await measureOnGroup('cnn-mnist', 2, args);
    expect(line.error).toBeUndefined();
    expect(line).toMatchObject({ workload: 'cnn-mnist', ranks: 2, transport, global_batch: 64, backend: 'wasm', kernels: 'tfleet' });
    expect(line.steps).toBeGreaterThan(0);
    // The clock started after the warm-up: the run took both, the measured steps only the second.
    expect(line.warmup_s).toBe(0.4);
    expect(performance.now() - started).toBeGreaterThan(700);
    expect(line.steps * line.step_ms).toBeLessThan(performance.now() - started - 400);
    expect(line.samples_per_s).toBeCloseTo((64 * 1000) / line.step_ms, -1);
    // Two ranks exchange gradients every step, so the reduce has a cost and a share below 1.
    expect(line.breakdown.all_reduce_ms).toBeGreaterThan(0);
    expect(line.breakdown.all_reduce_share).toBeGreaterThan(0);
    expect(line.breakdown.all_reduce_share).toBeLessThan(1);
    expect(line.breakdown.forward_backward_ms).toBeGreaterThan(0);
    // The rank that waited most waited at least as long as the slowest rank did.
    expect(line.breakdown.all_reduce_wait_max_ms).toBeGreaterThanOrEqual(line.breakdown.all_reduce_wait_ms!);
    // The ranks trained in their own threads or processes; nothing was left here.
    expect(tf.memory().numTensors).toBe(before);
  });
});
