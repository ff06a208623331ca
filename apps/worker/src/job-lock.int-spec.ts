import { randomUUID } from 'node:crypto';
import { createRedis, failFastRedisOptions } from '@tfleet/queue';
import { freePort } from '../../launcher/src/redis-server';
import { TEST_REDIS_URL } from '../../../test/utils/tfleet-stack.util';
import { JobLockWatch } from './job-lock';

describe('JobLockWatch (real Redis)', () => {
  const redis = createRedis(TEST_REDIS_URL, failFastRedisOptions(TEST_REDIS_URL));
  const key = `int-${randomUUID().slice(0, 8)}:experiments:job:lock`;

  afterAll(async () => {
    await redis.del(key);
    redis.disconnect();
  });

  it('holds while the lock has our token, and is lost the moment another worker holds it', async () => {
    await redis.set(key, 'mine', 'PX', 10_000);
    const reasons: string[] = [];
    const watch = new JobLockWatch(redis, key, 'mine', { lockMs: 10_000, checkEveryMs: 60_000 }, (r) => reasons.push(r));
    await watch.check();
    expect(watch.lostReason).toBeNull();
    await redis.set(key, 'theirs', 'PX', 10_000);
    await watch.check();
    expect(watch.lostReason).toBe('another worker holds its lock');
    expect(reasons).toEqual(['another worker holds its lock']);
  });

  it('is lost when the lock expired', async () => {
    await redis.del(key);
    const watch = new JobLockWatch(redis, key, 'mine', { lockMs: 10_000, checkEveryMs: 60_000 }, () => undefined);
    await watch.check();
    expect(watch.lostReason).toBe('its lock expired');
  });

  it('without Redis, holds until just before the last known expiry, then is lost', async () => {
    const port = await freePort();
    const unreachable = createRedis(`redis://127.0.0.1:${port}`, { ...failFastRedisOptions(`redis://127.0.0.1:${port}`), lazyConnect: true });
    unreachable.on('error', () => undefined);
    let clock = 1_000_000;
    const watch = new JobLockWatch(unreachable, key, 'mine', { lockMs: 10_000, checkEveryMs: 1_000, now: () => clock }, () => undefined);
    try {
      clock += 5_000;
      await watch.check();
      expect(watch.lostReason).toBeNull();
      // Within one check and a margin of the expiry: another worker could have it soon.
      clock += 3_600;
      await watch.check();
      expect(watch.lostReason).toBe('Redis was unreachable until its lock would expire');
    } finally {
      unreachable.disconnect();
    }
  });
});
