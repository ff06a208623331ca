import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type IORedis from 'ioredis';
import type { DataSource } from 'typeorm';
import { loadConfig, type TfleetConfig } from '@tfleet/config';
import { CheckpointStore } from '@tfleet/artifacts';
import { type CheckpointPayload, type CheckpointPointer, defaultBoardOf, parseExperimentSpec, QueueName, type RunEvent, type RunEventBody, type RuntimeInfo, type TrainExperimentJobData } from '@tfleet/contracts';
import { ExperimentsRepository, openDatabase } from '@tfleet/persistence';
import { cancelKey, createRedis, redisOptionsFromUrl, resumePointKey } from '@tfleet/queue';
import { JobSignals } from '../../apps/api/src/common/job-signals';
import { ResumePoints } from '../../apps/api/src/common/resume-points';
import { RunEventsService } from '../../apps/api/src/run-events/run-events.service';
import { TEST_REDIS_URL } from '../utils/tfleet-stack.util';
import { expectFailedRowFailsAlone, expectGroupedQueuedInserts } from '../utils/queued-inserts.util';

const runtime: RuntimeInfo = {
  backend: 'wasm',
  device: 'cpu (wasm simd)',
  ranks: 2,
  rankTransport: 'threads',
  seed: 42,
  tfjsVersion: '4.22.0',
  nodeVersion: process.version,
  tfleetVersion: '0.1.0',
  workerId: 'w1',
  hostname: 'h',
};

const payload = (step: number, kind: CheckpointPayload['kind'], epoch = 1): CheckpointPayload => ({
  step,
  epoch,
  kind,
  model: { modelTopology: { class_name: 'Functional' }, weightSpecs: [{ name: 'w', shape: [2], dtype: 'float32' }], weightDataBase64: Buffer.from(new Float32Array([1, step]).buffer).toString('base64') },
  state: { cursor: { epoch: 1 } },
});

describe('run events into SQLite (real file, migrations applied)', () => {
  let dir: string;
  let dataSource: DataSource;
  let repository: ExperimentsRepository;
  let service: RunEventsService;
  let redis: IORedis;
  let queue: Queue<TrainExperimentJobData>;
  let config: TfleetConfig;
  let store: CheckpointStore;
  /** Writes a checkpoint to the store as a worker of `attempt` does; the event carries what this returns. */
  const checkpoint = (experimentId: string, step: number, kind: CheckpointPayload['kind'], attempt = 1, epoch = 1): Promise<CheckpointPointer> =>
    store.writeCheckpoint(experimentId, payload(step, kind, epoch), attempt);
  const resumeKey = async (id: string) => JSON.parse((await redis.get(resumePointKey(config.queuePrefix, id))) ?? 'null') as CheckpointPointer | null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tfleet-int-'));
    dataSource = await openDatabase(join(dir, 'test.sqlite'));
    repository = new ExperimentsRepository(dataSource);
    config = loadConfig({ REDIS_URL: TEST_REDIS_URL, TFLEET_QUEUE_PREFIX: `int-${randomUUID().slice(0, 8)}` });
    redis = createRedis(config.redisUrl);
    queue = new Queue(QueueName.Experiments, { connection: redisOptionsFromUrl(config.redisUrl), prefix: config.queuePrefix });
    store = new CheckpointStore(join(dir, 'artifacts'));
    service = new RunEventsService(repository, new JobSignals(redis, queue, config), store, new ResumePoints(redis, config, repository));
  });

  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    const keys = await redis.keys(`${config.queuePrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function newExperiment(): Promise<string> {
    const parsed = parseExperimentSpec({ dataset: { name: 'mnist' }, model: { family: 'cnn' } });
    if (!parsed.ok) throw new Error('spec');
    const id = randomUUID();
    await repository.insertQueued(id, parsed.value);
    return id;
  }

  let seq = 0;
  const event = (experimentId: string, attempt: number, body: RunEventBody): RunEvent =>
    ({ ...body, experimentId, attempt, seq: seq++, at: new Date().toISOString() }) as RunEvent;

  it('the migrations create exactly the schema the entities describe', async () => {
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('records a run from start to leaderboard, idempotently', async () => {
    const id = await newExperiment();
    const events = [
      event(id, 1, { type: 'started', runtime, paramCount: 1234 }),
      event(id, 1, { type: 'epoch', epoch: 1, step: 10, train: { loss: 1.5 }, validation: { loss: 1.2, accuracy: 0.6 }, samplesPerSecond: 100, wallTimeMs: 1000 }),
      event(id, 1, { type: 'checkpoint', checkpoint: await checkpoint(id, 10, 'epoch') }),
      event(id, 1, { type: 'completed', test: { loss: 1.1, accuracy: 0.65 }, baselines: { majorityAccuracy: 0.11 }, steps: 10, epochs: 1, samplesPerSecond: 100, wallTimeMs: 1000, scalingEfficiency: null }),
    ];
    for (const e of [...events, ...events]) await service.apply(e);
    const stored = await repository.findById(id);
    expect(stored).toMatchObject({ status: 'completed', attempt: 1, paramCount: 1234, backend: 'wasm', testMetrics: { loss: 1.1, accuracy: 0.65 }, steps: 10 });
    expect(stored!.runtime).toEqual(runtime);
    const history = await repository.metricHistory(id);
    expect(history.map((m) => `${m.epoch}/${m.split}/${m.name}=${m.value}`).sort()).toEqual(
      ['0/test/accuracy=0.65', '0/test/loss=1.1', '1/train/loss=1.5', '1/validation/accuracy=0.6', '1/validation/loss=1.2'].sort(),
    );
    expect((await repository.listCheckpoints(id)).length).toBe(1);
    const board = await repository.leaderboard({ boardKey: defaultBoardOf('mnist').key, metric: 'accuracy', order: 'desc', limit: 10 });
    expect(board.map((r) => r.experiment.id)).toContain(id);
  });

  it('drops events of an older attempt and never revives a cancelled experiment', async () => {
    const id = await newExperiment();
    await service.apply(event(id, 2, { type: 'started', runtime, paramCount: 1 }));
    await service.apply(event(id, 1, { type: 'failed', error: 'old attempt', willRetry: false }));
    expect((await repository.findById(id))!.status).toBe('running');
    await repository.finish(id, 'cancelled', null, new Date());
    await service.apply(event(id, 2, { type: 'completed', test: { accuracy: 0.9 }, baselines: {}, steps: 1, epochs: 1, samplesPerSecond: 1, wallTimeMs: 1, scalingEfficiency: null }));
    expect((await repository.findById(id))!.status).toBe('cancelled');
  });

  it('keeps the final checkpoint and the newest resumable ones (the default), deletes the pruned files, and points the resume key at the latest', async () => {
    const id = await newExperiment();
    await service.apply(event(id, 1, { type: 'started', runtime, paramCount: 1 }));
    const pointers: CheckpointPointer[] = [];
    for (const step of [5, 10, 15, 20]) {
      const pointer = await checkpoint(id, step, 'periodic');
      pointers.push(pointer);
      await service.apply(event(id, 1, { type: 'checkpoint', checkpoint: pointer }));
      expect(await resumeKey(id)).toEqual(pointer);
    }
    const final = await checkpoint(id, 20, 'final');
    await service.apply(event(id, 1, { type: 'checkpoint', checkpoint: final }));
    const kept = await repository.listCheckpoints(id);
    expect(kept.map((c) => `${c.kind}@${c.step}`)).toEqual(['periodic@15', 'periodic@20', 'final@20']);
    expect(kept.map((c) => c.ref)).toEqual([pointers[2]!.ref, pointers[3]!.ref, final.ref]);
    expect(pointers.map((p) => existsSync(store.pathOf(p.ref)))).toEqual([false, false, true, true]);
    const latest = await repository.latestCheckpoint(id, 'final');
    const weights = Buffer.from((await store.readCheckpoint(latest!.ref)).model.weightDataBase64, 'base64');
    expect(new Float32Array(weights.buffer.slice(weights.byteOffset, weights.byteOffset + 8))).toEqual(new Float32Array([1, 20]));
    // A redelivered event (or a retried step's second file) keeps the recorded file and drops the new one.
    const again = await checkpoint(id, 20, 'final', 2);
    await service.apply(event(id, 1, { type: 'checkpoint', checkpoint: again }));
    expect(existsSync(store.pathOf(again.ref))).toBe(false);
    expect(existsSync(store.pathOf(final.ref))).toBe(true);
    await service.apply(event(id, 1, { type: 'completed', test: { loss: 1 }, baselines: {}, steps: 20, epochs: 1, samplesPerSecond: 1, wallTimeMs: 1, scalingEfficiency: null }));
    expect(await resumeKey(id)).toBeNull();
  });

  it('keepCheckpoints: the latest N and the best M epoch checkpoints by the validation metric', async () => {
    const parsed = parseExperimentSpec({ dataset: { name: 'mnist' }, model: { family: 'cnn' }, training: { keepCheckpoints: { latest: 1, best: 2, metric: 'accuracy' } } });
    if (!parsed.ok) throw new Error('spec');
    const id = randomUUID();
    await repository.insertQueued(id, parsed.value);
    await service.apply(event(id, 1, { type: 'started', runtime, paramCount: 1 }));
    const accuracy = [0.5, 0.9, 0.7, 0.8, 0.6];
    for (const [i, value] of accuracy.entries()) {
      const epoch = i + 1;
      await service.apply(event(id, 1, { type: 'epoch', epoch, step: epoch * 10, train: { loss: 1 }, validation: { accuracy: value }, samplesPerSecond: 1, wallTimeMs: 1 }));
      await service.apply(event(id, 1, { type: 'checkpoint', checkpoint: await checkpoint(id, epoch * 10, 'epoch', 1, epoch) }));
    }
    const kept = await repository.listCheckpoints(id);
    // The latest (epoch 5) and the two most accurate (epochs 2 and 4); higher is better for accuracy.
    expect(kept.map((c) => `${c.epoch}:${c.metricValue}`)).toEqual(['2:0.9', '4:0.8', '5:0.6']);
    expect([10, 30].map((step) => existsSync(join(store.root, id, `${step}-epoch-1.ckpt`)))).toEqual([false, false]);
  });

  it('an attempt that resumes keeps the history and checkpoints up to its resume point, and its view says from where', async () => {
    const id = await newExperiment();
    await service.apply(event(id, 1, { type: 'started', runtime, paramCount: 1 }));
    for (const epoch of [1, 2, 3]) await service.apply(event(id, 1, { type: 'epoch', epoch, step: epoch * 10, train: { loss: epoch }, validation: { loss: epoch }, samplesPerSecond: 1, wallTimeMs: 1 }));
    const at20 = await checkpoint(id, 20, 'periodic');
    const at30 = await checkpoint(id, 30, 'periodic');
    for (const pointer of [at20, at30]) await service.apply(event(id, 1, { type: 'checkpoint', checkpoint: pointer }));
    // The worker of attempt 2 read the key when it pointed at step 20 (the event of step 30 was still on its way).
    expect(await service.apply(event(id, 2, { type: 'started', runtime, paramCount: 1, resumedFromStep: 20 }))).toBe('applied');
    expect(await repository.findById(id)).toMatchObject({ attempt: 2, resumedFromStep: 20, status: 'running' });
    const history = await repository.metricHistory(id);
    expect(history.filter((m) => m.split === 'train').map((m) => `${m.attempt}:${m.epoch}`)).toEqual(['1:1', '1:2']);
    expect((await repository.listCheckpoints(id)).map((c) => c.ref)).toEqual([at20.ref]);
    expect(existsSync(store.pathOf(at30.ref))).toBe(false);
    expect(await resumeKey(id)).toEqual(at20);
    // A fresh attempt (no resume point) starts over.
    await service.apply(event(id, 3, { type: 'started', runtime, paramCount: 1 }));
    expect(await repository.findById(id)).toMatchObject({ attempt: 3, resumedFromStep: null });
    expect(await repository.metricHistory(id)).toEqual([]);
  });

  it('a run cancelled while it trains keeps the checkpoint it saved where it stopped; a stale attempt\'s file is deleted', async () => {
    const id = await newExperiment();
    await service.apply(event(id, 1, { type: 'started', runtime, paramCount: 1 }));
    await repository.finish(id, 'cancelled', null, new Date());
    const stop = await checkpoint(id, 7, 'periodic');
    expect(await service.apply(event(id, 1, { type: 'checkpoint', checkpoint: stop }))).toBe('applied');
    expect((await repository.latestCheckpoint(id))!.ref).toBe(stop.ref);
    const stale = await checkpoint(id, 9, 'periodic', 0 + 5);
    expect(await service.apply(event(id, 5, { type: 'checkpoint', checkpoint: stale }))).toBe('dropped');
    expect(existsSync(store.pathOf(stale.ref))).toBe(false);
    expect(existsSync(store.pathOf(stop.ref))).toBe(true);
  });

  it('a resumed run is not ended by its previous attempt\'s late `cancelled`; the next attempt\'s events count', async () => {
    const id = await newExperiment();
    await service.apply(event(id, 1, { type: 'started', runtime, paramCount: 1 }));
    await repository.finish(id, 'cancelled', null, new Date());
    expect(await repository.reopen(id)).toBe(true);
    // Attempt 1's own `cancelled` was still in the run-events queue when POST /resume reopened it.
    expect(await service.apply(event(id, 1, { type: 'cancelled', step: 7 }))).toBe('dropped');
    expect((await repository.findById(id))!.status).toBe('queued');
    expect(await service.apply(event(id, 2, { type: 'started', runtime, paramCount: 1 }))).toBe('applied');
    expect((await repository.findById(id))!).toMatchObject({ status: 'running', attempt: 2 });
  });

  it('an epoch of the completed attempt that arrives after `completed` is still recorded, once, and the run stays completed', async () => {
    const id = await newExperiment();
    await service.apply(event(id, 1, { type: 'started', runtime, paramCount: 1 }));
    await service.apply(event(id, 1, { type: 'completed', test: { accuracy: 0.5 }, baselines: {}, steps: 2, epochs: 1, samplesPerSecond: 1, wallTimeMs: 1, scalingEfficiency: null }));
    const late = event(id, 1, { type: 'epoch', epoch: 1, step: 2, train: { loss: 1.5 }, validation: { loss: 1.2 }, samplesPerSecond: 100, wallTimeMs: 1000 });
    expect(await service.apply(late)).toBe('applied');
    expect(await service.apply(late)).toBe('applied');
    expect((await repository.metricHistory(id)).filter((m) => m.epoch === 1).map((m) => `${m.split}/${m.name}=${m.value}`).sort()).toEqual(['train/loss=1.5', 'validation/loss=1.2']);
    expect((await repository.findById(id))!.status).toBe('completed');
  });

  it('ranks by the metric in the asked order', async () => {
    const ids: string[] = [];
    for (const loss of [0.3, 0.1, 0.2]) {
      const id = await newExperiment();
      ids.push(id);
      await service.apply(event(id, 1, { type: 'started', runtime, paramCount: 1 }));
      await service.apply(event(id, 1, { type: 'completed', test: { loss }, baselines: {}, steps: 1, epochs: 1, samplesPerSecond: 1, wallTimeMs: 1, scalingEfficiency: null }));
    }
    const board = await repository.leaderboard({ boardKey: defaultBoardOf('mnist').key, metric: 'loss', order: 'asc', limit: 3 });
    expect(board.map((r) => r.value)).toEqual([0.1, 0.2, 0.3]);
  });

  it('a diverged event of the running attempt ends the experiment diverged, once; nothing revives it', async () => {
    const id = await newExperiment();
    await service.apply(event(id, 2, { type: 'started', runtime, paramCount: 1 }));
    expect(await service.apply(event(id, 1, { type: 'diverged', step: 3, loss: 'NaN', lastFiniteLoss: 1 }))).toBe('dropped');
    const diverged = event(id, 2, { type: 'diverged', step: 11, loss: 'Infinity', lastFiniteLoss: 1.1e35 });
    expect(await service.apply(diverged)).toBe('applied');
    expect(await service.apply(diverged)).toBe('dropped');
    await service.apply(event(id, 2, { type: 'failed', error: 'unrecoverable', willRetry: false }));
    await service.apply(event(id, 2, { type: 'completed', test: { accuracy: 0.9 }, baselines: {}, steps: 1, epochs: 1, samplesPerSecond: 1, wallTimeMs: 1, scalingEfficiency: null }));
    expect(await repository.finish(id, 'failed', 'the job failed', new Date())).toBe(false);
    expect(await repository.findById(id)).toMatchObject({
      status: 'diverged',
      divergedAtStep: 11,
      lastFiniteLoss: 1.1e35,
      error: 'training diverged: the loss became Infinity at step 11 (last finite loss 1.1e+35)',
    });
  });

  const epochEvent = (id: string, attempt: number, epoch: number, loss: number) =>
    event(id, attempt, { type: 'epoch', epoch, step: epoch * 10, train: { loss }, validation: { loss }, samplesPerSecond: 1, wallTimeMs: 1 });

  it('a newer attempt starts over: the view and the history are its alone', async () => {
    const id = await newExperiment();
    await service.apply(event(id, 1, { type: 'started', runtime: { ...runtime, workerId: 'dead-worker' }, paramCount: 1 }));
    for (const epoch of [1, 2, 3]) await service.apply(epochEvent(id, 1, epoch, 10 + epoch));
    await service.apply(event(id, 1, { type: 'checkpoint', checkpoint: await checkpoint(id, 30, 'periodic') }));
    await service.apply(event(id, 2, { type: 'started', runtime: { ...runtime, workerId: 'second-worker' }, paramCount: 1 }));
    // A late event of the dead attempt changes nothing.
    expect(await service.apply(epochEvent(id, 1, 4, 99))).toBe('dropped');
    expect(await service.apply(event(id, 1, { type: 'completed', test: { loss: 9 }, baselines: {}, steps: 40, epochs: 4, samplesPerSecond: 1, wallTimeMs: 1, scalingEfficiency: null }))).toBe('dropped');
    await service.apply(epochEvent(id, 2, 1, 1.5));
    const stored = await repository.findById(id);
    expect(stored).toMatchObject({ status: 'running', attempt: 2 });
    expect(stored!.runtime!.workerId).toBe('second-worker');
    const history = await repository.metricHistory(id);
    expect(history.map((m) => `${m.attempt}:${m.epoch}/${m.split}/${m.value}`).sort()).toEqual(['2:1/train/1.5', '2:1/validation/1.5']);
    expect(await repository.listCheckpoints(id)).toEqual([]);
  });

  it('a queued insert returns exactly the row a later read finds (it is not read back)', async () => {
    const parsed = parseExperimentSpec({ name: 'returned row', dataset: { name: 'adding' }, model: { family: 'gru' } });
    if (!parsed.ok) throw new Error('spec');
    const id = randomUUID();
    const returned = await repository.insertQueued(id, parsed.value);
    const stored = await repository.findById(id);
    expect(stored).not.toBeNull();
    expect({ ...returned }).toEqual({ ...stored! });
    expect(returned.createdAt.getTime()).toBe(stored!.createdAt.getTime());
  });

  it('submissions arriving together are written by one statement per group, each returning the row later read', async () => {
    const parsed = parseExperimentSpec({ dataset: { name: 'adding' }, model: { family: 'gru' } });
    if (!parsed.ok) throw new Error('spec');
    await expectGroupedQueuedInserts(repository, dataSource, parsed.value);
  });

  it('a submission whose row cannot be written fails alone; the others of its group are stored', async () => {
    const parsed = parseExperimentSpec({ dataset: { name: 'adding' }, model: { family: 'gru' } });
    if (!parsed.ok) throw new Error('spec');
    await expectFailedRowFailsAlone(repository, parsed.value);
  });

  it('events of an attempt that never became current are dropped', async () => {
    const id = await newExperiment();
    expect(await service.apply(epochEvent(id, 1, 1, 1))).toBe('dropped');
    expect(await repository.metricHistory(id)).toEqual([]);
  });

  it('tells the worker to stop a job whose experiment does not exist or has finished', async () => {
    const orphan = randomUUID();
    expect(await service.apply(event(orphan, 1, { type: 'started', runtime, paramCount: 1 }))).toBe('dropped');
    expect(await redis.get(cancelKey(config.queuePrefix, orphan))).toBe('1');
    const done = await newExperiment();
    await service.apply(event(done, 1, { type: 'started', runtime, paramCount: 1 }));
    await service.apply(event(done, 1, { type: 'completed', test: { loss: 0.5 }, baselines: {}, steps: 1, epochs: 1, samplesPerSecond: 1, wallTimeMs: 1, scalingEfficiency: null }));
    expect(await service.apply(event(done, 2, { type: 'started', runtime: { ...runtime, workerId: 'duplicate' }, paramCount: 1 }))).toBe('dropped');
    expect(await redis.get(cancelKey(config.queuePrefix, done))).toBe('1');
    expect(await repository.findById(done)).toMatchObject({ status: 'completed', attempt: 1 });
  });

  it('writes arriving at once never share a transaction: all land, none fails', async () => {
    // Without the write serializer this interleaves BEGINs on SQLite's one connection
    // ("cannot start a transaction within a transaction") and loses rows on rollback.
    const running = await newExperiment();
    await service.apply(event(running, 1, { type: 'started', runtime, paramCount: 1 }));
    const parsed = parseExperimentSpec({ dataset: { name: 'adding' }, model: { family: 'gru' } });
    if (!parsed.ok) throw new Error('spec');
    const ids = Array.from({ length: 150 }, () => randomUUID());
    const work: Promise<unknown>[] = [];
    const pointers = await Promise.all(ids.map((_, i) => checkpoint(running, 100 + i, 'periodic')));
    ids.forEach((id, i) => {
      work.push(repository.insertQueued(id, parsed.value));
      work.push(service.apply(event(running, 1, { type: 'checkpoint', checkpoint: pointers[i]! })));
      work.push(service.apply(epochEvent(running, 1, i + 1, i)));
      if (i % 3 === 0) work.push(repository.delete(id));
    });
    const results = await Promise.allSettled(work);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const kept = ids.filter((_, i) => i % 3 !== 0);
    expect((await repository.existingIds(ids)).size).toBe(kept.length);
    expect((await repository.existingIds(kept)).size).toBe(kept.length);
    expect((await repository.metricHistory(running)).filter((m) => m.split === 'train').length).toBe(150);
    expect((await repository.listCheckpoints(running)).map((c) => c.step)).toEqual([248, 249]);
  });
});
