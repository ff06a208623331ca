import * as tf from '@tensorflow/tfjs';
import { measureOnGroup, parseArgs } from './main';

describe('bench on real ranks', () => {
  it('parses --ranks and --transport, and rejects a bad transport', () => {
    const args = parseArgs(['--workload', 'cnn-mnist', '--ranks', '1,2', '--transport', 'processes', '--seconds', '0.5']);
    expect(args.ranks).toEqual([1, 2]);
    expect(args.transport).toBe('processes');
    expect(args.seconds).toBe(0.5);
  });

  it.each(['threads', 'processes'] as const)('trains cnn-mnist on 2 %s ranks and reports the per-step breakdown', async (transport) => {
    const before = tf.memory().numTensors;
    const args = parseArgs(['--workload', 'cnn-mnist', '--ranks', '2', '--transport', transport, '--seconds', '0.3', '--backend', 'wasm']);
    const line = await measureOnGroup('cnn-mnist', 2, args);
    expect(line.error).toBeUndefined();
    expect(line).toMatchObject({ workload: 'cnn-mnist', ranks: 2, transport, global_batch: 64, backend: 'wasm', kernels: 'tfleet' });
    expect(line.steps).toBeGreaterThan(0);
    expect(line.samples_per_s).toBeCloseTo((64 * 1000) / line.step_ms, -1);
    // Two ranks exchange gradients every step, so the reduce has a cost and a share below 1.
    expect(line.breakdown.all_reduce_ms).toBeGreaterThan(0);
    expect(line.breakdown.all_reduce_share).toBeGreaterThan(0);
    expect(line.breakdown.all_reduce_share).toBeLessThan(1);
    expect(line.breakdown.forward_backward_ms).toBeGreaterThan(0);
    // The ranks trained in their own threads or processes; nothing was left here.
    expect(tf.memory().numTensors).toBe(before);
  });
});
