import { eventually, startTestStack, type TestStack } from '../utils/tfleet-stack.util';

interface TrialBody {
  id: string;
  index: number;
  seed: number;
  assignment: Record<string, unknown>;
  status: string;
  epochs: number;
  metric: number | null;
  test: number | null;
  stop: { rung: number; epoch: number; metric: string; value: number; cutoff: number } | null;
  error: string | null;
}
interface SweepBody {
  id: string;
  status: string;
  trials: TrialBody[];
  counts: Record<string, number>;
  epochsSpent: number;
  best: { id: string; assignment: Record<string, unknown>; test: number | null } | null;
}
interface ErrorBody {
  issues: { field: string; message: string }[];
}

/** Tiny runs: 200 MNIST digits, one dense layer of 8, one rank. */
const base = (epochs: number, extra: Record<string, unknown> = {}) => ({
  dataset: { name: 'mnist', samples: 200 },
  model: { family: 'cnn', blocks: [], denseUnits: [8], dropout: 0 },
  training: { epochs, batchSize: 16, ranks: 1, ...extra },
});

describe('sweeps over the fleet (real API, three workers, Redis, SQLite)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ workers: 3 });
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
  });

  const call = async <T>(method: string, path: string, body?: unknown, status?: number): Promise<T> => {
    const response = await stack.request(method, path, body);
    if (status !== undefined && response.status !== status) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body as T;
  };
  const sweep = (id: string) => call<SweepBody>('GET', `/api/sweeps/${id}`, undefined, 200);
  const trialsStored = async (id: string) => (await call<{ total: number }>('GET', `/api/experiments?pageSize=100&filter=${encodeURIComponent(`sweepId = '${id}'`)}`, undefined, 200)).total;
  const settled = (id: string, timeoutMs: number) =>
    eventually(
      async () => {
        const body = await sweep(id);
        return body.status !== 'running' ? body : undefined;
      },
      timeoutMs,
      `sweep ${id} to end`,
      1_000,
    );

  it('a 2 x 2 grid over 2 seeds queues 8 trials; posting it again is the same sweep; rerun-failed re-queues only the cancelled trial', async () => {
    const request = {
      name: 'grid e2e',
      base: base(1, { maxSteps: 3 }),
      method: 'grid',
      space: { 'training.learningRate': { values: [0.001, 0.01] }, 'training.batchSize': { values: [8, 16] } },
      seeds: [1, 2],
    };
    // Paused, so that one trial can be cancelled before any worker takes it.
    await call('POST', '/api/queue/pause', undefined, 200);
    const created = await call<SweepBody>('POST', '/api/sweeps', request, 201);
    expect(created.trials).toHaveLength(8);
    expect(created.counts).toEqual({ queued: 8 });
    const again = await call<SweepBody>('POST', '/api/sweeps', { ...request, space: { 'training.batchSize': request.space['training.batchSize'], 'training.learningRate': request.space['training.learningRate'] } }, 200);
    expect(again.id).toBe(created.id);
    expect(again.trials.map((t) => t.id)).toEqual(created.trials.map((t) => t.id));
    expect(await trialsStored(created.id)).toBe(8);

    const victim = created.trials[3]!.id;
    expect((await stack.request('POST', `/api/experiments/${victim}/cancel`)).status).toBe(200);
    await call('POST', '/api/queue/resume', undefined, 200);
    const first = await settled(created.id, 240_000);
    expect(first.status).toBe('completed');
    expect(first.counts).toEqual({ completed: 7, cancelled: 1 });
    expect(first.trials.find((t) => t.status === 'cancelled')!.id).toBe(victim);

    const rerun = await call<{ requeued: string[] }>('POST', `/api/sweeps/${created.id}/rerun-failed`, undefined, 200);
    expect(rerun.requeued).toEqual([victim]);
    const second = await settled(created.id, 120_000);
    expect(second.counts).toEqual({ completed: 8 });
    expect(second.trials.map((t) => t.id)).toEqual(created.trials.map((t) => t.id));
    expect(await trialsStored(created.id)).toBe(8);
    // Nothing left to rerun.
    expect((await call<{ requeued: string[] }>('POST', `/api/sweeps/${created.id}/rerun-failed`, undefined, 200)).requeued).toEqual([]);
  }, 480_000);

  it('maxConcurrent 2 with three workers never has more than two trials queued or running', async () => {
    const created = await call<SweepBody>(
      'POST',
      '/api/sweeps',
      // 4,000 digits: on 200 a trial could end between two 200-ms polls, never seen running.
      { base: { ...base(2), dataset: { name: 'mnist', samples: 4_000 } }, method: 'grid', space: { 'training.learningRate': { values: [0.001, 0.002, 0.003, 0.004, 0.005] } }, seeds: [1], maxConcurrent: 2 },
      201,
    );
    expect(created.counts).toEqual({ queued: 2, pending: 3 });
    let peakRunning = 0;
    let peakLive = 0;
    let samples = 0;
    const done = await eventually(
      async () => {
        const body = await sweep(created.id);
        samples++;
        peakRunning = Math.max(peakRunning, body.counts['running'] ?? 0);
        peakLive = Math.max(peakLive, (body.counts['running'] ?? 0) + (body.counts['queued'] ?? 0));
        return body.status !== 'running' ? body : undefined;
      },
      300_000,
      'the maxConcurrent sweep to end',
      200,
    );
    process.stdout.write(`${JSON.stringify({ test: 'maxConcurrent', samples, peakRunning, peakLive })}\n`);
    expect(done.counts).toEqual({ completed: 5 });
    expect(peakLive).toBeLessThanOrEqual(2);
    expect(peakRunning).toBeGreaterThanOrEqual(1);
  }, 360_000);

  it('ASHA over 6 trials whose learning rates separate them stops the slow ones at the first rung', async () => {
    const created = await call<SweepBody>(
      'POST',
      '/api/sweeps',
      {
        base: base(4),
        method: 'grid',
        space: { 'training.learningRate': { values: [0.01, 0.005, 0.003, 0.000001, 0.000002, 0.000003] } },
        seeds: [1],
        // ASHA is asynchronous: a trial is judged against those that reached its rung before it.
        // Three at a time, the fast three (first in grid order) reach the first rung before any
        // slow one starts, so each slow one is judged against them, whatever the machine's speed.
        maxConcurrent: 3,
        earlyStopping: { method: 'asha', metric: 'loss', mode: 'min', gracePeriod: 1, reductionFactor: 2, maxEpochs: 4 },
      },
      201,
    );
    const done = await settled(created.id, 360_000);
    process.stdout.write(`${JSON.stringify({ test: 'asha', counts: done.counts, epochsSpent: done.epochsSpent, trials: done.trials.map((t) => [t.assignment['training.learningRate'], t.status, t.epochs, t.stop?.value ?? null]) })}\n`);
    expect(done.status).toBe('completed');
    const slow = done.trials.filter((t) => (t.assignment['training.learningRate'] as number) < 0.001);
    expect(slow).toHaveLength(3);
    for (const t of slow) {
      expect(t.status).toBe('stopped');
      expect(t.stop).toMatchObject({ rung: 0, epoch: 1, metric: 'loss' });
      expect(t.stop!.value).toBeGreaterThan(t.stop!.cutoff);
      expect(t.epochs).toBeLessThan(4);
    }
    expect(done.counts['completed']).toBeGreaterThanOrEqual(1);
    expect(done.epochsSpent).toBeLessThan(6 * 4);
    expect(done.best).not.toBeNull();
    expect(done.best!.assignment['training.learningRate']).toBeGreaterThanOrEqual(0.003);
  }, 420_000);

  it('stopWhen ends the sweep once a trial reaches the value: the rest stop, that trial finishes', async () => {
    const created = await call<SweepBody & { stoppedBy: unknown }>(
      'POST',
      '/api/sweeps',
      { base: base(2), method: 'grid', space: { 'training.learningRate': { values: [0.01, 0.002, 0.003, 0.004] } }, seeds: [1], maxConcurrent: 1, stopWhen: { metric: 'loss', mode: 'min', value: 100 } },
      201,
    );
    const done = await settled(created.id, 180_000);
    expect(done.status).toBe('completed');
    expect((done as SweepBody & { stoppedBy: unknown }).stoppedBy).toMatchObject({ trialId: created.trials[0]!.id, metric: 'loss' });
    expect(done.trials.slice(1).map((t) => [t.status, t.epochs])).toEqual([['stopped', 0], ['stopped', 0], ['stopped', 0]]);
    const winner = await eventually(
      async () => {
        const t = (await sweep(created.id)).trials[0]!;
        return t.status === 'running' ? undefined : t;
      },
      120_000,
      'the trial that met stopWhen to finish',
    );
    expect(winner.status).toBe('completed');
    expect(winner.epochs).toBe(2);
  }, 300_000);

  it('cancel ends a running sweep: every trial that had not finished is cancelled; a second cancel is 409', async () => {
    const created = await call<SweepBody>('POST', '/api/sweeps', { base: base(3), method: 'grid', space: { 'training.learningRate': { values: [0.001, 0.002, 0.003] } }, seeds: [5], maxConcurrent: 1 }, 201);
    const cancelled = await call<SweepBody>('POST', `/api/sweeps/${created.id}/cancel`, undefined, 200);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.counts).toEqual({ cancelled: 3 });
    expect((await stack.request('POST', `/api/sweeps/${created.id}/cancel`)).status).toBe(409);
    const list = await call<{ items: { id: string; status: string }[] }>('GET', '/api/sweeps', undefined, 200);
    expect(list.items[0]).toMatchObject({ id: created.id, status: 'cancelled' });
  });

  it('a shootout suite runs as a sweep across the workers and reports its table, claims and mean ± std over seeds', async () => {
    interface ShootoutBody {
      id: string;
      status: string;
      trials: { id: string; label: string; seed: number; status: string }[];
      rows: { label: string; test: Record<string, number>; samplesPerSecond: number | null; epochs: { validation: Record<string, number> }[]; error: string | null }[];
      spread: Record<string, Record<string, { n: number; mean: number; std: number | null }>>;
      claims: { id: string; verdict: string }[];
      environment: { workers: string[] };
      markdown: string;
    }
    const request = { suite: 'sequence-speed', seeds: [1, 2], only: ['lstm', 'gru'] };
    const created = await call<ShootoutBody>('POST', '/api/shootouts', request, 201);
    expect(created.trials.map((t) => [t.label, t.seed])).toEqual([['lstm', 1], ['lstm', 2], ['gru', 1], ['gru', 2]]);
    expect((await call<ShootoutBody>('POST', '/api/shootouts', request, 200)).id).toBe(created.id);
    await settled(created.id, 300_000);
    const report = await call<ShootoutBody>('GET', `/api/shootouts/${created.id}`, undefined, 200);
    expect(report.trials.map((t) => t.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(report.rows.map((r) => [r.label, r.error])).toEqual([['lstm', null], ['gru', null]]);
    for (const label of ['lstm', 'gru']) {
      const mses: number[] = [];
      for (const t of report.trials.filter((x) => x.label === label)) mses.push((await call<{ metrics: Record<string, number> }>('GET', `/api/experiments/${t.id}`, undefined, 200)).metrics['mse']!);
      const mean = (mses[0]! + mses[1]!) / 2;
      const std = Math.abs(mses[0]! - mses[1]!) / Math.SQRT2;
      expect(report.spread[label]!['mse']!.n).toBe(2);
      expect(report.spread[label]!['mse']!.mean).toBeCloseTo(mean, 10);
      expect(report.spread[label]!['mse']!.std).toBeCloseTo(std, 10);
      const row = report.rows.find((r) => r.label === label)!;
      expect(row.test['mse']).toBeCloseTo(mean, 10);
      expect(row.samplesPerSecond).toBeGreaterThan(0);
      expect(row.epochs).toHaveLength(1);
    }
    // The suite's claim needs the Transformer and the simple RNN, which were left out.
    expect(report.claims).toEqual([expect.objectContaining({ id: 'transformer-faster-on-long-sequences', verdict: 'not measured' })]);
    expect(report.markdown).toContain('## Shootout: sequence-speed');
    expect(report.markdown).toContain('mean ± std');
    expect(report.environment.workers.length).toBeGreaterThanOrEqual(1);
    expect((await stack.request('POST', '/api/shootouts', { suite: 'nope', seeds: [1] })).status).toBe(400);
    expect((await stack.request('GET', '/api/shootouts/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    // A shootout is a sweep: its trials and counts are there too.
    expect((await sweep(created.id)).counts).toEqual({ completed: 4 });
  }, 420_000);

  it('invalid sweeps are 400 naming the field and store nothing', async () => {
    const sweepsBefore = (await call<{ total: number }>('GET', '/api/sweeps', undefined, 200)).total;
    const experimentsBefore = (await call<{ total: number }>('GET', '/api/experiments', undefined, 200)).total;
    const cases: [string, Record<string, unknown>, string][] = [
      ['an empty space', { base: base(1), method: 'grid', space: {} }, 'space'],
      ['a bad path', { base: base(1), method: 'grid', space: { 'model.nonsense': { values: [1, 2] } } }, 'trials[0].model.nonsense'],
      ['a path that is not one', { base: base(1), method: 'grid', space: { 'training..learningRate': { values: [1] } } }, 'space.training..learningRate'],
      ['a bad range', { base: base(1), method: 'random', samples: 3, space: { 'training.learningRate': { logUniform: [0.1, 0.001] } } }, 'space.training.learningRate.logUniform'],
      ['an unfit family', { base: base(1), method: 'grid', space: { 'model.family': { values: ['cnn', 'lstm'] } } }, 'trials[1].model'],
    ];
    for (const [what, body, field] of cases) {
      const response = await stack.request('POST', '/api/sweeps', body);
      expect({ what, status: response.status }).toEqual({ what, status: 400 });
      const fields = (response.body as ErrorBody).issues.map((i) => i.field);
      expect({ what, match: fields.some((f) => f === field || f.startsWith(`${field}.`)) }).toEqual({ what, match: true });
      expect(JSON.stringify(response.body)).not.toMatch(/at .*\.js:\d+|SELECT|INSERT/);
    }
    expect((await call<{ total: number }>('GET', '/api/sweeps', undefined, 200)).total).toBe(sweepsBefore);
    expect((await call<{ total: number }>('GET', '/api/experiments', undefined, 200)).total).toBe(experimentsBefore);
    expect((await stack.request('GET', '/api/sweeps/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await stack.request('GET', '/api/sweeps/nope')).status).toBe(404);
  });
});
