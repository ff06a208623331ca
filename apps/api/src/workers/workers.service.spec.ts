import { WORKER_LIVE_MS, WORKER_REMEMBER_MS, type WorkerInfo } from '@tfleet/contracts';
import type { RedisGate } from '../common/redis-gate';
import { type QueueControl, type WorkersRedis, WorkersService } from './workers.service';

const NOW = Date.UTC(2026, 11, 5, 9, 0, 0);

const info = (id: string, beatMsAgo: number, stopped = false): WorkerInfo => ({
  id,
  host: 'h',
  pid: 1,
  backend: 'wasm',
  device: 'cpu',
  cores: 2,
  maxRanks: 2,
  currentExperiments: [],
  jobsDone: 3,
  startedAt: new Date(NOW - 60_000).toISOString(),
  heartbeatAt: new Date(NOW - beatMsAgo).toISOString(),
  stoppedAt: stopped ? new Date(NOW - beatMsAgo).toISOString() : null,
});

/** An in-memory stand-in for the sorted set and the records the workers write. */
function fakeRedis(records: Record<string, { score: number; text: string }>): WorkersRedis {
  return {
    zremrangebyscore: async (_key: string, _min: string, max: number) => {
      for (const [id, r] of Object.entries(records)) if (r.score <= max) delete records[id];
      return 0;
    },
    zrangebyscore: async (_key: string, min: number) => Object.keys(records).filter((id) => records[id]!.score >= min),
    mget: async (...keys: string[]) => keys.map((k) => records[k.slice(k.lastIndexOf(':') + 1)]?.text ?? null),
  } as unknown as WorkersRedis;
}

const gate = { call: <T>(_what: string, work: () => Promise<T>) => work() } as unknown as RedisGate;

describe('WorkersService', () => {
  it('calls a recent beat live, an old one lost, a clean stop stopped, forgets past an hour and skips invalid records', async () => {
    const records: Record<string, { score: number; text: string }> = {
      a: { score: NOW - 1_000, text: JSON.stringify(info('a', 1_000)) },
      b: { score: NOW - WORKER_LIVE_MS - 1, text: JSON.stringify(info('b', WORKER_LIVE_MS + 1)) },
      c: { score: NOW - 5_000, text: JSON.stringify(info('c', 5_000, true)) },
      d: { score: NOW - WORKER_REMEMBER_MS - 1, text: JSON.stringify(info('d', WORKER_REMEMBER_MS + 1)) },
      e: { score: NOW, text: '{"id":"e","pid":"not a number"}' },
    };
    const service = new WorkersService(fakeRedis(records), {} as QueueControl, gate, { queuePrefix: 'p' });
    const workers = await service.workers(NOW);
    expect(workers.map((w) => [w.id, w.state])).toEqual([
      ['a', 'live'],
      ['b', 'lost'],
      ['c', 'stopped'],
    ]);
    expect(workers[0]!.lastSeenMsAgo).toBe(1_000);
    expect(Object.keys(records)).not.toContain('d');
  });

  it('reports counts for every state and whether the queue is paused, and pauses and resumes it', async () => {
    let paused = false;
    const queue = {
      isPaused: async () => paused,
      getJobCounts: async () => ({ waiting: 2, active: 1 }),
      pause: async () => {
        paused = true;
      },
      resume: async () => {
        paused = false;
      },
    } as unknown as QueueControl;
    const service = new WorkersService(fakeRedis({}), queue, gate, { queuePrefix: 'p' });
    expect(await service.queueState()).toEqual({ paused: false, counts: { waiting: 2, prioritized: 0, delayed: 0, active: 1, paused: 0, completed: 0, failed: 0, 'waiting-children': 0 } });
    expect((await service.pause()).paused).toBe(true);
    expect((await service.resume()).paused).toBe(false);
  });
});
