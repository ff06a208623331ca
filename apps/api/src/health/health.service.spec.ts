import { HealthService, type DatabaseProbe, type QueueProbe, type RedisPing } from './health.service';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

function fakes(overrides: { ping?: () => Promise<'PONG'>; query?: () => Promise<unknown>; workers?: () => Promise<number> } = {}) {
  const redis = { ping: overrides.ping ?? (async () => 'PONG' as const) } as unknown as RedisPing;
  const database = { query: overrides.query ?? (async () => [{ 1: 1 }]) } as unknown as DatabaseProbe;
  const queue = {
    getWorkersCount: overrides.workers ?? (async () => 2),
    getJobCounts: async () => ({ waiting: 1, active: 2, delayed: 0, completed: 3, failed: 0 }),
  } as unknown as QueueProbe;
  return new HealthService(redis, database, queue);
}

describe('HealthService', () => {
  it('reports ok with the worker count and job counts when everything answers', async () => {
    expect(await fakes().report()).toEqual({
      status: 'ok',
      api: 'up',
      redis: 'up',
      database: 'up',
      workers: 2,
      jobs: { waiting: 1, active: 2, delayed: 0, completed: 3, failed: 0 },
    });
  });

  it('is degraded, without asking the queue, when Redis fails', async () => {
    let asked = false;
    const report = await fakes({
      ping: async () => {
        throw new Error('ECONNREFUSED');
      },
      workers: async () => {
        asked = true;
        return 1;
      },
    }).report();
    expect(report).toMatchObject({ status: 'degraded', redis: 'down', database: 'up', workers: null, jobs: null });
    expect(asked).toBe(false);
  });

  it('says the database is down when its probe hangs past the probe time', async () => {
    const started = Date.now();
    const report = await fakes({ query: never }).report();
    expect(report).toMatchObject({ status: 'degraded', redis: 'up', database: 'down' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('leaves the worker count null when the queue cannot say, and stays ok', async () => {
    const report = await fakes({
      workers: async () => {
        throw new Error('boom');
      },
    }).report();
    expect(report).toMatchObject({ status: 'ok', workers: null });
  });
});
