import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TfleetClient } from './tfleet-client';
import { CliError } from './tfleet-errors';
import type { ExperimentShape } from './tfleet-shapes';
import { etaSeconds, EventStreamUpdates, type ExperimentUpdates, serverSentEvents } from './tfleet-watch';

const KEY = 'events-test-key-0123';

const experiment = (status: string, progress: ExperimentShape['progress'] = null): ExperimentShape => ({
  id: 'e1',
  name: 'run',
  status,
  dataset: 'mnist',
  family: 'cnn',
  spec: { training: { batchSize: 32 } },
  progress,
  attempt: 1,
  metrics: status === 'completed' ? { accuracy: 0.9 } : null,
  steps: null,
  epochs: null,
  samplesPerSecond: null,
  wallTimeMs: null,
  error: null,
  createdAt: '2026-12-05T10:00:00.000Z',
  startedAt: null,
  finishedAt: null,
  boardKey: 'mnist-x',
  runtime: null,
});

const event = (type: string, data: unknown) => `event: ${type}\nid: 1\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * The client side of GET /api/experiments/:id/events against a stand-in server that writes the
 * event stream byte by byte as the API frames it, and answers as an older API (no route) does.
 * The e2e test (test/e2e/cli.e2e-spec.ts) watches real runs through the real endpoint.
 */
describe('EventStreamUpdates', () => {
  let server: Server;
  let url: string;
  const streams: Record<string, (res: ServerResponse) => void> = {};
  const headers: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      headers.push(`${req.headers.authorization} ${req.headers.accept}`);
      const id = /^\/api\/experiments\/([^/]+)\/events$/.exec(req.url ?? '')?.[1];
      const write = id === undefined ? undefined : streams[id];
      if (write === undefined) return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 404, message: id === 'gone' ? 'experiment gone not found' : `Cannot GET ${req.url}` }));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      write(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const client = () => new TfleetClient({ url, key: KEY, keySource: 'test' });
  /** Stands in for polling: records which ids it was asked to follow. */
  const fallback = (followed: string[]): ExperimentUpdates => ({
    follow: async (id, onView) => {
      followed.push(id);
      const view = { ...experiment('completed'), id };
      onView(view);
      return view;
    },
  });

  it('builds each view from the snapshot, progress (with the server ETA) and status events, skipping heartbeats', async () => {
    const progress = { experimentId: 'e1', epoch: 1, epochs: 2, step: 5, totalSteps: 20, loss: 0.7, samplesPerSecond: 160, etaSeconds: 3 };
    streams['e1'] = (res) => {
      // Split mid-line and with CRLF: events arrive in whatever pieces the network gives.
      const text = `${event('snapshot', experiment('running'))}: heartbeat\n\n${event('progress', progress)}`.replace(/\n/g, '\r\n') + event('experiment', experiment('completed'));
      let at = 0;
      const timer = setInterval(() => {
        res.write(text.slice(at, at + 37));
        at += 37;
        if (at >= text.length) {
          clearInterval(timer);
          // The API ends the stream after a terminal status; keep it open to show the client stops by itself.
        }
      }, 1);
      res.on('close', () => clearInterval(timer));
    };
    const seen: ExperimentShape[] = [];
    const followed: string[] = [];
    const last = await new EventStreamUpdates(client(), fallback(followed)).follow('e1', (v) => seen.push(v), new AbortController().signal);
    expect(seen.map((v) => [v.status, v.progress?.step ?? null])).toEqual([
      ['running', null],
      ['running', 5],
      ['completed', null],
    ]);
    expect(etaSeconds(seen[1]!)).toBe(3);
    expect(last.metrics).toEqual({ accuracy: 0.9 });
    expect(followed).toEqual([]);
    expect(headers.at(-1)).toBe(`Bearer ${KEY} text/event-stream`);
  });

  it('polls where the server has no events route, or when the stream ends before the run does', async () => {
    const followed: string[] = [];
    streams['cut'] = (res) => res.end(event('snapshot', { ...experiment('running'), id: 'cut' }));
    const updates = new EventStreamUpdates(client(), fallback(followed));
    expect((await updates.follow('older', () => undefined, new AbortController().signal)).status).toBe('completed');
    expect((await updates.follow('cut', () => undefined, new AbortController().signal)).status).toBe('completed');
    expect(followed).toEqual(['older', 'cut']);
  });

  it('an unknown experiment is its 404, not a fallback; a malformed event says which', async () => {
    const followed: string[] = [];
    const updates = new EventStreamUpdates(client(), fallback(followed));
    await expect(updates.follow('gone', () => undefined, new AbortController().signal)).rejects.toThrow(new CliError('experiment gone not found', 5));
    streams['bad'] = (res) => res.end(event('snapshot', { id: 'bad' }));
    await expect(updates.follow('bad', () => undefined, new AbortController().signal)).rejects.toThrow(/^unexpected 'snapshot' event from .*\/api\/experiments\/bad\/events \(/);
    expect(followed).toEqual([]);
  });

  it('parses multi-line data and ignores fields it does not know', async () => {
    const body = new Blob(['retry: 10\nevent: a\ndata: 1\ndata: 2\n\ndata: x\n\n']).stream();
    const events = [];
    for await (const e of serverSentEvents(body)) events.push(e);
    expect(events).toEqual([
      { type: 'a', data: '1\n2' },
      { type: 'message', data: 'x' },
    ]);
  });
});
