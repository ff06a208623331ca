import { startTestStack, type TestStack } from '../utils/tfleet-stack.util';
import { openSse, type SseItem } from '../utils/sse-client.util';

interface Progress {
  experimentId: string;
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  loss: number | null;
  samplesPerSecond: number;
  etaSeconds: number | null;
}
interface ExperimentEvent {
  id: string;
  status: string;
  attempt: number;
}

const events = (items: SseItem[]) => items.filter((i): i is Extract<SseItem, { kind: 'event' }> => i.kind === 'event');

describe('live updates over server-sent events (real API and worker processes)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ env: { TFLEET_SSE_HEARTBEAT_MS: '400' } });
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers 401 without the key and 404 for an unknown experiment, before any stream starts', async () => {
    const noKey = await stack.request('GET', '/api/experiments/events', undefined, null);
    expect(noKey.status).toBe(401);
    const unknown = await fetch(`${stack.baseUrl}/api/experiments/00000000-0000-4000-8000-000000000000/events`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/application\/json/);
    expect(((await unknown.json()) as { message: string }).message).toMatch(/not found/);
    expect((await stack.request('GET', '/api/experiments/not-a-uuid/events')).status).toBe(404);
  });

  it("streams an experiment's progress, epochs and status to completed, in order, then ends; the list stream sees the same changes", async () => {
    const list = await openSse(`${stack.baseUrl}/api/experiments/events`, stack.apiKey);
    expect(list.status).toBe(200);
    // A heartbeat comment keeps a quiet stream open through proxies.
    await list.waitFor((i) => i.kind === 'comment' && i.text === 'heartbeat', 5_000, 'a heartbeat');

    const submitted = await stack.request('POST', '/api/experiments', {
      name: 'sse run',
      // Several seconds even on an idle machine (progress is reported about once a second).
      dataset: { name: 'mnist', samples: 10_000 },
      model: { family: 'cnn', blocks: [{ filters: 32 }], denseUnits: [128] },
      training: { epochs: 3, batchSize: 32, seed: 3, ranks: 1 },
    });
    expect(submitted.status).toBe(201);
    const id = (submitted.body as { id: string }).id;
    const one = await openSse(`${stack.baseUrl}/api/experiments/${id}/events`, stack.apiKey);
    expect(one.status).toBe(200);
    await one.ended;

    const received = events(one.items);
    expect(received[0]!.type).toBe('snapshot');
    expect((received[0]!.data as ExperimentEvent).id).toBe(id);
    const last = received[received.length - 1]!;
    expect(last.type).toBe('experiment');
    expect((last.data as ExperimentEvent).status).toBe('completed');

    const progress = received.filter((e) => e.type === 'progress').map((e) => e.data as Progress);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    for (const p of progress) {
      expect(p.experimentId).toBe(id);
      expect(p.totalSteps).toBe(Math.ceil((10_000 * 0.8) / 32) * 3);
      expect(typeof p.etaSeconds).toBe('number');
    }
    // Steps only go forward, and the time left goes down with them.
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.step).toBeGreaterThan(progress[i - 1]!.step);
    expect(progress[progress.length - 1]!.etaSeconds!).toBeLessThanOrEqual(progress[0]!.etaSeconds!);

    const epochs = received.filter((e) => e.type === 'epoch').map((e) => (e.data as { epoch: number; validation: Record<string, number> }));
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(typeof epochs[1]!.validation['accuracy']).toBe('number');
    // Status changes after the snapshot: never backwards, completed last.
    const statuses = received.filter((e) => e.type === 'experiment').map((e) => (e.data as ExperimentEvent).status);
    expect(statuses[statuses.length - 1]).toBe('completed');
    expect(statuses.filter((s) => s === 'queued')).toEqual([]);
    // The last progress report comes before the completion.
    expect(received.findIndex((e) => e.type === 'progress')).toBeGreaterThan(0);
    expect(received.map((e) => e.type).lastIndexOf('progress')).toBeLessThan(received.length - 1);

    // The list stream: the experiment appears as queued, runs, completes, in that order, with its progress.
    await list.waitFor((i) => i.kind === 'event' && i.type === 'experiment' && (i.data as ExperimentEvent).id === id && (i.data as ExperimentEvent).status === 'completed', 10_000, 'completed on the list stream');
    const mine = events(list.items).filter((e) => (e.type === 'experiment' ? (e.data as ExperimentEvent).id : (e.data as Progress).experimentId) === id);
    expect(mine.filter((e) => e.type === 'experiment').map((e) => (e.data as ExperimentEvent).status)).toEqual(['queued', 'running', 'completed']);
    expect(mine.filter((e) => e.type === 'progress').length).toBeGreaterThanOrEqual(2);
    list.close();

    // A finished experiment's stream is its snapshot, then the end.
    const again = await openSse(`${stack.baseUrl}/api/experiments/${id}/events`, stack.apiKey);
    await again.ended;
    expect(events(again.items).map((e) => [e.type, (e.data as ExperimentEvent).status])).toEqual([['snapshot', 'completed']]);
  }, 240_000);

  it('streams a cancel: a queued experiment cancelled while the queue is paused ends its stream with cancelled', async () => {
    expect((await stack.request('POST', '/api/queue/pause')).status).toBe(200);
    try {
      const submitted = await stack.request('POST', '/api/experiments', { dataset: { name: 'mnist', samples: 200 }, model: { family: 'cnn' }, training: { epochs: 1 } });
      const id = (submitted.body as { id: string }).id;
      const one = await openSse(`${stack.baseUrl}/api/experiments/${id}/events`, stack.apiKey);
      await one.waitFor((i) => i.kind === 'event' && i.type === 'snapshot', 5_000, 'the snapshot');
      expect((await stack.request('POST', `/api/experiments/${id}/cancel`)).status).toBe(200);
      await one.ended;
      const received = events(one.items);
      expect(received.map((e) => [e.type, (e.data as ExperimentEvent).status])).toEqual([
        ['snapshot', 'queued'],
        ['experiment', 'cancelled'],
      ]);
    } finally {
      await stack.request('POST', '/api/queue/resume');
    }
  }, 60_000);
});
