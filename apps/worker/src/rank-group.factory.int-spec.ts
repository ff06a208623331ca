import { randomUUID } from 'node:crypto';
import { type BackendName, parseExperimentSpec, type RankReport, type RankTask } from '@tfleet/contracts';
import type { RankGroup } from '@tfleet/parallel';
import { RANK_ENTRY_POINTS } from '../../../workers/rank-entry-points';
import { RankGroupFactory, type RankGroupLease } from './rank-group.factory';

/*
 * The worker's warm rank pool with real training ranks (workers/train-rank.thread, the wasm
 * engine, runTrainingRank): what is kept between experiments (the threads) and what is not
 * (model, optimizer, data, tensors).
 */

const parsed = parseExperimentSpec({
  dataset: { name: 'mnist', samples: 200 },
  // No dropout: with a seeded order and seeded weights two runs must agree bit for bit.
  model: { family: 'cnn', blocks: [{ filters: 4 }], denseUnits: [8], dropout: 0 },
  training: { epochs: 2, batchSize: 32, seed: 5 },
});
if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
const spec = parsed.value;

interface Ran {
  reports: RankReport[];
  threadIds: number[];
  pool: ReturnType<RankGroupLease['pool']>;
}

const threadOptions = (worldSize: number) => ({ transport: 'threads' as const, worldSize, barrierTimeoutMs: 5_000 });

async function experiment(lease: RankGroupLease, worldSize: number, backend: BackendName, extra: Partial<RankTask> = {}): Promise<Ran> {
  const reports: RankReport[] = [];
  const experimentId = randomUUID();
  let pool: Ran['pool'] = null;
  try {
    await lease.group.run(
      (rank) => ({ experimentId, attempt: 1, spec, rank, worldSize, backend, ...extra }),
      (report) => {
        // Read while the run is on its pool, as the service does for the runtime record.
        if (report.kind === 'ready') pool = lease.pool();
        if (report.kind === 'memory') lease.recordRankMemory(report.tensors, report.bytes);
        reports.push(report);
      },
    );
  } finally {
    lease.release();
  }
  return { reports, threadIds: (lease.group as RankGroup).poolInfo().threadIds, pool };
}

const completed = (ran: Ran) => ran.reports.find((r): r is Extract<RankReport, { kind: 'completed' }> => r.kind === 'completed')!;
const memory = (ran: Ran) => ran.reports.find((r): r is Extract<RankReport, { kind: 'memory' }> => r.kind === 'memory')!;

describe('RankGroupFactory warm rank pool (real training ranks)', () => {
  let factory: RankGroupFactory;
  beforeEach(() => {
    factory = new RankGroupFactory(RANK_ENTRY_POINTS);
  });
  afterEach(async () => {
    await factory.onModuleDestroy();
  });

  it('runs two experiments of the same backend and ranks on the same threads, each from a fresh model and optimizer, leaving no tensor behind', async () => {
    const first = await experiment(await factory.acquire(threadOptions(2), 'wasm'), 2, 'wasm');
    const second = await experiment(await factory.acquire(threadOptions(2), 'wasm'), 2, 'wasm');
    expect(first.pool).toEqual({ pool: 1, run: 1 });
    expect(second.pool).toEqual({ pool: 1, run: 2 });
    expect(first.threadIds).toHaveLength(2);
    expect(second.threadIds).toEqual(first.threadIds);
    // Same seed, no dropout: a replica or optimizer state carried over would change the result.
    expect(completed(second).test).toEqual(completed(first).test);
    expect(completed(second).steps).toBe(completed(first).steps);
    // Rank 0's engine holds as many tensors after the second experiment as after the first.
    expect(memory(second).tensors).toBe(memory(first).tensors);
    expect(memory(second).bytes).toBe(memory(first).bytes);
    // And the same as on a group that starts fresh threads.
    const fresh = await experiment(await new RankGroupFactory(RANK_ENTRY_POINTS, { keepWarm: false }).acquire(threadOptions(2), 'wasm'), 2, 'wasm');
    expect(completed(fresh).test).toEqual(completed(first).test);
  });

  it('starts a new pool, ending the old one, when the ranks or the backend differ', async () => {
    const lease = await factory.acquire(threadOptions(2), 'wasm');
    const two = await experiment(lease, 2, 'wasm');
    const one = await experiment(await factory.acquire(threadOptions(1), 'wasm'), 1, 'wasm');
    expect(one.pool).toEqual({ pool: 2, run: 1 });
    expect((lease.group as RankGroup).liveWorkers()).toBe(0);
    expect(one.threadIds.some((id) => two.threadIds.includes(id))).toBe(false);
    const cpu = await experiment(await factory.acquire(threadOptions(1), 'cpu'), 1, 'cpu');
    expect(cpu.pool).toEqual({ pool: 3, run: 1 });
  });

  it('ends the threads of a failed experiment; the next one starts on a fresh pool and trains as a fresh one does', async () => {
    const reference = await experiment(await factory.acquire(threadOptions(2), 'wasm'), 2, 'wasm');
    const lease = await factory.acquire(threadOptions(2), 'wasm');
    // A rank blocks for good at step 1 (the step-timeout hook); a watchdog fails the run.
    const watchdog = setTimeout(() => lease.group.fail('no progress (test watchdog)'), 3_000);
    await expect(experiment(lease, 2, 'wasm', { testStallAtStep: 1 })).rejects.toThrow(/no progress \(test watchdog\)/);
    clearTimeout(watchdog);
    expect((lease.group as RankGroup).liveWorkers()).toBe(0);
    const next = await experiment(await factory.acquire(threadOptions(2), 'wasm'), 2, 'wasm');
    expect(next.pool).toEqual({ pool: 2, run: 1 });
    expect(next.threadIds.some((id) => reference.threadIds.includes(id))).toBe(false);
    expect(completed(next).test).toEqual(completed(reference).test);
    expect(memory(next).tensors).toBe(memory(reference).tensors);
  });

  it('gives a second concurrent experiment a group of its own that is not kept', async () => {
    const held = await factory.acquire(threadOptions(1), 'wasm');
    const other = await factory.acquire(threadOptions(1), 'wasm');
    expect(other.group).not.toBe(held.group);
    const ran = await experiment(other, 1, 'wasm');
    expect(ran.pool).toMatchObject({ run: 1 });
    expect((other.group as RankGroup).liveWorkers()).toBe(0);
    held.release();
    const again = await factory.acquire(threadOptions(1), 'wasm');
    expect(again.group).toBe(held.group);
    again.release();
  });
});
