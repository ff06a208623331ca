import * as path from 'node:path';
import { experimentSpecSchema, type RankTask } from '@tfleet/contracts';
import { needsRankProcesses, webgpuRankAdapters } from '@tfleet/ml';
import { RankGroup } from '@tfleet/parallel';
import { RANK_ENTRY_POINTS } from '../../workers/rank-entry-points';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'ranks', 'webgpu-adapter.rank.js');
const spec = experimentSpecSchema.parse({ dataset: { name: 'synthetic-images' }, model: { family: 'cnn' }, training: { backend: 'webgpu' } });
const taskFor =
  (worldSize: number) =>
  (rank: number): RankTask => ({ experimentId: '3f1c6f5e-8a0e-4b8e-9a43-5f0b2f4d9c11', attempt: 1, spec, rank, worldSize, backend: 'webgpu' });

describe('webgpu rank placement', () => {
  it('runs webgpu ranks as processes (one Dawn device per process)', () => {
    expect(needsRankProcesses('webgpu')).toBe(true);
  });

  it('uses the configured GPU indices, else one adapter (nothing opened in this process)', () => {
    expect(webgpuRankAdapters(['2', '3'])).toEqual([2, 3]);
    expect(webgpuRankAdapters([])).toEqual([0]);
  });

  it('gives each rank process its adapter index, round-robin, and passes the software switch through', async () => {
    const ranks = new RankGroup({
      entryPoints: RANK_ENTRY_POINTS,
      transport: 'processes',
      worldSize: 3,
      rankModule: FIXTURE,
      webgpuAdapters: [0, 1],
      env: { PATH: process.env['PATH'], TFLEET_WEBGPU_ALLOW_SOFTWARE: '1' },
    });
    const environments = await ranks.run(taskFor(3), () => {});
    expect(environments).toEqual([
      { TFLEET_WEBGPU_ADAPTER_INDEX: '0', TFLEET_WEBGPU_ALLOW_SOFTWARE: '1' },
      { TFLEET_WEBGPU_ADAPTER_INDEX: '1', TFLEET_WEBGPU_ALLOW_SOFTWARE: '1' },
      { TFLEET_WEBGPU_ADAPTER_INDEX: '0', TFLEET_WEBGPU_ALLOW_SOFTWARE: '1' },
    ]);
  });
});
