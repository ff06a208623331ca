import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointPayload } from '@tfleet/contracts';
import { CheckpointStore, CheckpointStoreError } from './checkpoint-store';

function payload(step: number, modelBytes: number, withOptimizer = true): CheckpointPayload {
  return {
    step,
    epoch: 1,
    kind: 'periodic',
    model: {
      modelTopology: { class_name: 'Sequential', config: { layers: [] } },
      weightSpecs: [{ name: 'dense/kernel', shape: [modelBytes / 4], dtype: 'float32' }],
      weightDataBase64: randomBytes(modelBytes).toString('base64'),
    },
    ...(withOptimizer ? { optimizer: { weightSpecs: [{ name: 'dense/kernel/m', shape: [8] }], weightDataBase64: randomBytes(32).toString('base64') } } : {}),
    state: { cursor: { epoch: 1, stepInEpoch: 3, globalStep: step, samplesSeen: 96, trainMs: 12.5 }, artifacts: { vocabulary: ['a', 'b'] } },
  };
}

describe('CheckpointStore (a real directory)', () => {
  let root: string;
  let store: CheckpointStore;
  const experimentId = randomUUID();

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tfleet-store-'));
    store = new CheckpointStore(root);
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reads back exactly the payload it wrote, under <experimentId>/<step>-<kind>-<attempt>', async () => {
    const written = payload(40, 4 * 300_000);
    const pointer = await store.writeCheckpoint(experimentId, written, 2);
    expect(pointer).toMatchObject({ ref: `${experimentId}/40-periodic-2`, step: 40, epoch: 1, kind: 'periodic' });
    expect(pointer.bytes).toBe(statSync(join(root, experimentId, '40-periodic-2.ckpt')).size);
    // Raw bytes, not base64: the file is barely larger than the weights.
    expect(pointer.bytes).toBeLessThan(4 * 300_000 + 32 + 2_000);
    expect(await store.readCheckpoint(pointer.ref)).toEqual(written);
    const noOptimizer = payload(41, 16, false);
    expect(await store.readCheckpoint((await store.writeCheckpoint(experimentId, noOptimizer, 2)).ref)).toEqual(noOptimizer);
  });

  it('leaves no temporary file behind, and a rewrite of the same ref replaces it whole', async () => {
    await store.writeCheckpoint(experimentId, payload(5, 64), 1);
    const second = payload(5, 128);
    const pointer = await store.writeCheckpoint(experimentId, second, 1);
    expect(readdirSync(join(root, experimentId))).toEqual(['5-periodic-1.ckpt']);
    expect(await store.readCheckpoint(pointer.ref)).toEqual(second);
  });

  it('refuses references that are not its own (path traversal, absolute paths) before touching the disk', async () => {
    for (const bad of ['../etc/passwd', '/etc/passwd', `${experimentId}/../../x`, `${experimentId}/5-periodic-1/../../y`, 'x']) {
      await expect(store.readCheckpoint(bad)).rejects.toThrow(CheckpointStoreError);
      await expect(store.delete(bad)).rejects.toThrow(/not a checkpoint reference/);
    }
    await expect(store.deleteExperiment('..')).rejects.toThrow(CheckpointStoreError);
  });

  it('says a checkpoint is missing or damaged instead of returning garbage', async () => {
    await expect(store.readCheckpoint(`${experimentId}/1-epoch-1`)).rejects.toThrow(/cannot be read: ENOENT/);
    const pointer = await store.writeCheckpoint(experimentId, payload(7, 400), 1);
    const path = join(root, experimentId, '7-periodic-1.ckpt');
    const whole = readFileSync(path);
    writeFileSync(path, whole.subarray(0, whole.length - 10));
    await expect(store.readCheckpoint(pointer.ref)).rejects.toThrow(/damaged: expected \d+ bytes/);
    writeFileSync(path, Buffer.concat([Buffer.from('NOTACKPT'), whole.subarray(8)]));
    await expect(store.readCheckpoint(pointer.ref)).rejects.toThrow(/not a tfleet checkpoint/);
  });

  it('deletes one checkpoint (twice is fine) or all of an experiment', async () => {
    const a = await store.writeCheckpoint(experimentId, payload(1, 16), 1);
    const b = await store.writeCheckpoint(experimentId, payload(2, 16), 1);
    await store.delete(a.ref);
    await store.delete(a.ref);
    await expect(store.readCheckpoint(a.ref)).rejects.toThrow(/ENOENT/);
    expect((await store.readCheckpoint(b.ref)).step).toBe(2);
    await store.deleteExperiment(experimentId);
    await expect(store.readCheckpoint(b.ref)).rejects.toThrow(/ENOENT/);
  });
});
