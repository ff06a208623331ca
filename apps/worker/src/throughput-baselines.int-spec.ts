import { randomUUID } from 'node:crypto';
import { loadConfig } from '@tfleet/config';
import { createRedis } from '@tfleet/queue';
import { ThroughputBaselines } from './throughput-baselines';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

describe('ThroughputBaselines on a real Redis', () => {
  const prefix = `tfleet-test-${randomUUID()}`;
  const config = loadConfig({ REDIS_URL, TFLEET_QUEUE_PREFIX: prefix });
  const writer = new ThroughputBaselines(config);
  const reader = new ThroughputBaselines(config);
  const raw = createRedis(REDIS_URL);

  beforeAll(() => {
    writer.onModuleInit();
    reader.onModuleInit();
  });

  afterAll(async () => {
    await raw.del(`${prefix}:throughput:1rank`);
    writer.onModuleDestroy();
    reader.onModuleDestroy();
    raw.disconnect();
  });

  it('shares a recorded 1-rank figure with another worker, by signature', async () => {
    expect(await reader.lookup('sig-a')).toBeNull();
    await writer.record('sig-a', { samplesPerSecond: 812.5, experimentId: 'e1', recordedAt: '2026-11-28T00:00:00.000Z' });
    expect(await reader.lookup('sig-a')).toEqual({ samplesPerSecond: 812.5, experimentId: 'e1', recordedAt: '2026-11-28T00:00:00.000Z' });
    expect(await reader.lookup('sig-b')).toBeNull();
  });

  it('ignores a record that is not valid rather than trusting it', async () => {
    await raw.hset(`${prefix}:throughput:1rank`, 'sig-bad', '{"samplesPerSecond":-3}');
    await raw.hset(`${prefix}:throughput:1rank`, 'sig-junk', 'not json');
    expect(await reader.lookup('sig-bad')).toBeNull();
    expect(await reader.lookup('sig-junk')).toBeNull();
  });
});
