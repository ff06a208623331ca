import { benchAllReduce, REFERENCE_WORKLOAD_PARAMS } from './all-reduce-bench';

describe('benchAllReduce', () => {
  it.each(['threads', 'processes'] as const)('times each length on real %s ranks', async (transport) => {
    const rows = await benchAllReduce({ transport, worldSize: 2, lengths: [10, 1_001], iterations: 5, warmup: 1 });
    expect(rows.map((row) => [row.transport, row.worldSize, row.length, row.iterations])).toEqual([
      [transport, 2, 10, 5],
      [transport, 2, 1_001, 5],
    ]);
    for (const row of rows) {
      expect(row.meanMs).toBeGreaterThan(0);
      expect(row.medianMs).toBeLessThanOrEqual(row.p90Ms);
      expect(row.waitMs).toBeLessThanOrEqual(row.meanMs + 1e-9);
      expect(row.maxWaitMs).toBeGreaterThanOrEqual(row.waitMs);
    }
  });

  it('knows the reference workloads', () => {
    expect(Object.keys(REFERENCE_WORKLOAD_PARAMS).sort()).toEqual(['cnn-mnist', 'gru-lm', 'lstm-lm', 'transformer-enc']);
  });
});
