import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@tfleet/config';
import { LiveFeed } from '../../apps/api/src/live/live-feed.service';
import { LiveStreamsService } from '../../apps/api/src/live/live-streams.service';
import { startApi } from '../../apps/api/src/main';
import { freePort } from '../../apps/launcher/src/redis-server';
import { openSse, type SseItem } from '../utils/sse-client.util';
import { eventually, TEST_REDIS_URL } from '../utils/tfleet-stack.util';

/**
 * The API in this process (real Redis, a real SQLite file with the migrations), so the test can
 * count what a live stream holds: each open stream is a feed subscription and a heartbeat timer.
 */
describe('live streams release what they hold when the client goes', () => {
  let app: NestExpressApplication;
  let baseUrl: string;
  let dataDir: string;
  const apiKey = `test-key-${randomUUID()}`;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tfleet-live-'));
    const port = await freePort();
    app = await startApi(loadConfig({ PORT: String(port), HOST: '127.0.0.1', TFLEET_DATA_DIR: dataDir, REDIS_URL: TEST_REDIS_URL, TFLEET_QUEUE_PREFIX: `live-${randomUUID().slice(0, 8)}`, TFLEET_API_KEY: apiKey, TFLEET_SSE_HEARTBEAT_MS: '200' }));
    baseUrl = `http://127.0.0.1:${port}`;
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts open streams and drops them (subscription and timer) on disconnect; a 404 opens none', async () => {
    const streams = app.get(LiveStreamsService);
    expect(streams.openStreams()).toBe(0);
    const submitted = await fetch(`${baseUrl}/api/experiments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ dataset: { name: 'mnist', samples: 200 }, model: { family: 'cnn' } }),
    });
    expect(submitted.status).toBe(201);
    const { id } = (await submitted.json()) as { id: string };

    const list = await openSse(`${baseUrl}/api/experiments/events`, apiKey);
    const one = await openSse(`${baseUrl}/api/experiments/${id}/events`, apiKey);
    await one.waitFor((i) => i.kind === 'event' && i.type === 'snapshot', 5_000, 'the snapshot');
    await list.waitFor((i) => i.kind === 'comment', 5_000, 'a heartbeat');
    expect(streams.openStreams()).toBe(2);

    const unknown = await fetch(`${baseUrl}/api/experiments/${randomUUID()}/events`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(unknown.status).toBe(404);
    expect(streams.openStreams()).toBe(2);

    list.close();
    one.close();
    await eventually(async () => (streams.openStreams() === 0 ? true : undefined), 5_000, 'the streams to close', 50);
  });
  it("never repeats the snapshot's state on an experiment's stream, though the feed (which reads no row while nobody listens) sends it to the list", async () => {
    const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    const submitted = await fetch(`${baseUrl}/api/experiments`, { method: 'POST', headers, body: JSON.stringify({ dataset: { name: 'mnist', samples: 200 }, model: { family: 'cnn' } }) });
    const { id } = (await submitted.json()) as { id: string };
    const list = await openSse(`${baseUrl}/api/experiments/events`, apiKey);
    const one = await openSse(`${baseUrl}/api/experiments/${id}/events`, apiKey);
    try {
    await one.waitFor((i) => i.kind === 'event' && i.type === 'snapshot', 5_000, 'the snapshot');
    // What a late job event does (the 'added' event reaching the API after the client came):
    // the feed has no memory of this experiment's state, so it reads and sends it.
    app.get(LiveFeed).jobChanged(id);
    const isQueued = (i: SseItem) => i.kind === 'event' && i.type === 'experiment' && (i.data as { id: string; status: string }).id === id && (i.data as { status: string }).status === 'queued';
    await list.waitFor(isQueued, 5_000, 'the queued state on the list stream');
    expect((await fetch(`${baseUrl}/api/experiments/${id}/cancel`, { method: 'POST', headers })).status).toBe(200);
    await one.ended;
    const received = one.items.flatMap((i) => (i.kind === 'event' ? [[i.type, (i.data as { status: string }).status]] : []));
    expect(received).toEqual([
      ['snapshot', 'queued'],
      ['experiment', 'cancelled'],
    ]);
    } finally {
      // An open stream would keep app.close() waiting in afterAll.
      list.close();
      one.close();
    }
  });
});
