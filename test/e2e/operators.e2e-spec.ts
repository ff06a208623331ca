import { eventually, finishedExperiment, startTestStack, type TestStack } from '../utils/tfleet-stack.util';

interface ExperimentBody {
  id: string;
  status: string;
  progress: { samplesPerSecond: number; step: number } | null;
}

/** One sample of a Prometheus text exposition: `name{a="x", b="y"} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text format line by line; a line that is neither a comment nor a sample fails the test. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      if (types.has(type[1]!)) throw new Error(`family ${type[1]} declared twice`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a Prometheus line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (sample[2] ?? '').split(',').filter((p) => p.trim() !== '')) {
      const m = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*$/.exec(pair);
      if (!m) throw new Error(`not a label pair: ${pair} in ${line}`);
      labels[m[1]!] = m[2]!;
    }
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { samples, types };
}

const value = (samples: Sample[], name: string, labels: Record<string, string>): number | undefined =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

const notJson = (line: string): boolean => {
  try {
    JSON.parse(line);
    return false;
  } catch {
    return true;
  }
};

describe('operators: /metrics, the queue board at /queues, JSON logs (real API, worker, Redis, SQLite)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ TFLEET_LOG_FORMAT: 'json' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** What a process of the stack wrote (stdout and stderr), as lines. */
  const linesOf = (name: string) =>
    stack.output
      .filter((chunk) => chunk.startsWith(`[${name}] `))
      .map((chunk) => chunk.slice(name.length + 3))
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '');
  const scrape = async (headers: Record<string, string> = { authorization: `Bearer ${stack.apiKey}` }) => fetch(`${stack.baseUrl}/metrics`, { headers });
  const total = async (status: string) => ((await stack.request('GET', `/api/experiments?status=${status}&pageSize=1`)).body as { total: number }).total;

  it('GET /metrics needs the key', async () => {
    expect((await scrape({})).status).toBe(401);
    expect((await scrape({ authorization: 'Bearer wrong-key-0123456789' })).status).toBe(401);
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
  });

  it("reports experiments by status as the database holds them, a running run's speed from its job, live workers, and both queues' BullMQ counts", async () => {
    const tiny = await stack.request('POST', '/api/experiments', { dataset: { name: 'mnist', samples: 200 }, model: { family: 'cnn', blocks: [], denseUnits: [8] }, training: { epochs: 1, batchSize: 16, ranks: 1 } });
    expect((await finishedExperiment<ExperimentBody>(stack, (tiny.body as ExperimentBody).id, 120_000)).status).toBe('completed');
    const long = await stack.request('POST', '/api/experiments', { name: 'metrics-long', dataset: { name: 'mnist', samples: 4000 }, model: { family: 'cnn' }, training: { epochs: 30, batchSize: 32, ranks: 2 } });
    const id = (long.body as ExperimentBody).id;
    await eventually(
      async () => {
        const e = (await stack.request('GET', `/api/experiments/${id}`)).body as ExperimentBody;
        return e.status === 'running' && e.progress !== null && e.progress.samplesPerSecond > 0 ? e : undefined;
      },
      120_000,
      'the long run to report progress',
    );
    const { samples, types } = parseExposition(await (await scrape()).text());
    for (const status of ['queued', 'running', 'completed', 'failed', 'cancelled']) {
      expect([status, value(samples, 'tfleet_experiments', { status })]).toEqual([status, await total(status)]);
    }
    expect(value(samples, 'tfleet_experiments', { status: 'running' })).toBe(1);
    expect(value(samples, 'tfleet_experiments', { status: 'completed' })).toBe(1);
    const sps = value(samples, 'tfleet_experiment_samples_per_second', { experiment_id: id, family: 'cnn' });
    expect(sps).toBeGreaterThan(0);
    // Step time is the global batch (32) over samples/s, from the same progress report.
    expect(value(samples, 'tfleet_experiment_step_seconds', { experiment_id: id })).toBeCloseTo(32 / sps!, 9);
    // Two thread ranks all-reduce their gradients every step: a share of the step, neither none nor all of it.
    const share = value(samples, 'tfleet_experiment_allreduce_share', { experiment_id: id, family: 'cnn' });
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(1);
    expect(value(samples, 'tfleet_workers', { state: 'live' })).toBe(1);
    const queue = (await stack.request('GET', '/api/queue')).body as { counts: Record<string, number> };
    expect(value(samples, 'bullmq_job_count', { queue: 'experiments', state: 'active' })).toBe(1);
    expect(value(samples, 'bullmq_job_count', { queue: 'experiments', state: 'completed' })).toBe(queue.counts['completed']);
    expect(value(samples, 'bullmq_job_count', { queue: 'run-events', state: 'waiting' })).toBeGreaterThanOrEqual(0);
    expect(types.get('bullmq_job_count')).toBe('gauge');
    expect(types.get('tfleet_experiments')).toBe('gauge');
    for (const source of ['database', 'queue', 'workers', 'bullmq']) expect(value(samples, 'tfleet_metrics_source_up', { source })).toBe(1);

    expect((await stack.request('POST', `/api/experiments/${id}/cancel`)).status).toBe(200);
    await finishedExperiment(stack, id, 60_000);
    const after = await eventually(
      async () => {
        // One scrape reads the counts and the active jobs a moment apart: wait for a scrape taken wholly after the job left.
        const parsed = parseExposition(await (await scrape()).text()).samples;
        const gone = value(parsed, 'bullmq_job_count', { queue: 'experiments', state: 'active' }) === 0 && value(parsed, 'tfleet_experiment_samples_per_second', { experiment_id: id }) === undefined;
        return gone ? parsed : undefined;
      },
      60_000,
      'the cancelled job to leave the active list and its speed to leave /metrics',
    );
    expect(value(after, 'tfleet_experiments', { status: 'running' })).toBe(0);
    expect(value(after, 'tfleet_experiments', { status: 'cancelled' })).toBe(1);
    expect(value(after, 'tfleet_experiment_step_seconds', { experiment_id: id })).toBeUndefined();
    expect(value(after, 'tfleet_experiment_allreduce_share', { experiment_id: id })).toBeUndefined();
  });

  describe('the queue board at /queues', () => {
    const get = (path: string, authorization?: string) => fetch(`${stack.baseUrl}${path}`, { headers: authorization ? { authorization } : {} });
    const basic = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;

    it('answers 401 with a Basic challenge without the key, or with a wrong one', async () => {
      const none = await get('/queues');
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Basic realm="tfleet"');
      expect((await get('/queues', basic('wrong-key-0123456789'))).status).toBe(401);
      expect((await get('/queues/api/queues', `Bearer wrong-key-0123456789`)).status).toBe(401);
    });

    it('serves the board with the key as a Basic password or a Bearer token, over both queues, read-only', async () => {
      const page = await get('/queues', basic(stack.apiKey));
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const api = await get('/queues/api/queues', `Bearer ${stack.apiKey}`);
      expect(api.status).toBe(200);
      const body = (await api.json()) as { queues: { name: string; readOnlyMode: boolean; counts: Record<string, number> }[] };
      expect(body.queues.map((q) => q.name).sort()).toEqual(['experiments', 'run-events']);
      expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);
      const counts = ((await stack.request('GET', '/api/queue')).body as { counts: Record<string, number> }).counts;
      expect(body.queues.find((q) => q.name === 'experiments')!.counts['completed']).toBe(counts['completed']);
    });
  });

  it('with TFLEET_LOG_FORMAT=json the worker writes one JSON object per line, with experimentId, attempt and workerId', async () => {
    const all = linesOf('worker-1');
    expect(all.filter(notJson)).toEqual([]);
    const events = all.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.every((e) => typeof e['time'] === 'string' && typeof e['level'] === 'string' && typeof e['msg'] === 'string' && e['workerId'] === 'worker-1')).toBe(true);
    // Each of the two runs: its start line and its outcome line, attempt 1; the cancel line names its experiment.
    const runs = events.filter((e) => e['context'] === 'TrainingRunService');
    expect(runs).toHaveLength(4);
    expect(runs.every((e) => typeof e['experimentId'] === 'string' && e['attempt'] === 1)).toBe(true);
    expect(runs.filter((e) => String(e['msg']).endsWith(': completed'))).toHaveLength(1);
    expect(runs.filter((e) => String(e['msg']).endsWith(': cancelled'))).toHaveLength(1);
    const cancelLine = events.find((e) => String(e['msg']).startsWith('cancel requested for '));
    expect(cancelLine?.['experimentId']).toBe(runs.find((e) => String(e['msg']).endsWith(': cancelled'))!['experimentId']);
    const apiLines = linesOf('api');
    expect(apiLines.some((l) => l.includes('listening on'))).toBe(true);
    expect(apiLines.filter(notJson)).toEqual([]);
  });
});
