import { eventually, startTestStack, type TestStack } from '../../../test/utils/tfleet-stack.util';

/**
 * The measured figures of the sweeps docs, on the real API and worker processes (a local Redis,
 * a temporary SQLite file), printed as JSON lines:
 *
 *   node dist/bench/src/sweeps/main.js asha        random search on MNIST with and without ASHA
 *   node dist/bench/src/sweeps/main.js shootout <suite> [seeds]   a shootout suite on the fleet
 *
 * TFLEET_FIGURE_WORKERS workers (default 2), each training one rank (TFLEET_MAX_RANKS=1), so
 * that two workers use two cores as two in-process runs would.
 */

interface SweepBody {
  id: string;
  status: string;
  counts: Record<string, number>;
  epochsSpent: number;
  createdAt: string;
  finishedAt: string | null;
  trials: { assignment: Record<string, unknown>; status: string; epochs: number; test: number | null; stop: unknown }[];
  best: { assignment: Record<string, unknown>; test: number | null } | null;
}

async function call<T>(stack: TestStack, method: string, path: string, body?: unknown): Promise<T> {
  const response = await stack.request(method, path, body);
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as T;
}

async function finished(stack: TestStack, id: string): Promise<SweepBody> {
  return eventually(
    async () => {
      const body = await call<SweepBody>(stack, 'GET', `/api/sweeps/${id}`);
      return body.status === 'running' ? undefined : body;
    },
    3_600_000,
    `sweep ${id}`,
    2_000,
  );
}

/** Real MNIST digits (2,000 of the 10,000 the mnist package ships), an MLP of 64 units, 4 epochs; the learning rate drawn log-uniformly. */
const ASHA_SEARCH = {
  base: {
    dataset: { name: 'mnist', samples: 2000 },
    model: { family: 'cnn', blocks: [], denseUnits: [64], dropout: 0 },
    training: { epochs: 4, batchSize: 32, ranks: 1, optimizer: 'sgd' },
  },
  method: 'random',
  samples: 12,
  space: { 'training.learningRate': { logUniform: [0.0003, 1] } },
  seeds: [1],
  objective: { metric: 'accuracy', mode: 'max' },
} as const;

async function asha(stack: TestStack): Promise<void> {
  for (const earlyStopping of [undefined, { method: 'asha', metric: 'accuracy', mode: 'max', gracePeriod: 1, reductionFactor: 2, maxEpochs: 4 }]) {
    const created = await call<SweepBody>(stack, 'POST', '/api/sweeps', { ...ASHA_SEARCH, name: earlyStopping ? 'random + asha' : 'random', ...(earlyStopping ? { earlyStopping } : {}) });
    const done = await finished(stack, created.id);
    const wallMs = new Date(done.finishedAt!).getTime() - new Date(done.createdAt).getTime();
    const trials = done.trials.map((t) => ({ lr: Number(t.assignment['training.learningRate']).toPrecision(3), status: t.status, epochs: t.epochs, testAccuracy: t.test }));
    process.stdout.write(
      `${JSON.stringify({ figure: 'asha', search: earlyStopping ? 'random + asha' : 'random', trials: done.trials.length, counts: done.counts, totalEpochs: done.epochsSpent, bestTestAccuracy: done.best?.test ?? null, bestLearningRate: done.best?.assignment['training.learningRate'] ?? null, wallMs, perTrial: trials })}\n`,
    );
  }
}

async function shootout(stack: TestStack, suite: string, seeds: number[]): Promise<void> {
  const created = await call<{ id: string }>(stack, 'POST', '/api/shootouts', { suite, seeds });
  await finished(stack, created.id);
  const report = await call<{ wallMs: number; markdown: string; claims: { id: string; verdict: string }[]; environment: unknown }>(stack, 'GET', `/api/shootouts/${created.id}`);
  process.stdout.write(`${JSON.stringify({ figure: 'shootout', suite, seeds, wallMs: report.wallMs, claims: report.claims.map((c) => [c.id, c.verdict]), environment: report.environment })}\n`);
  process.stdout.write(report.markdown);
}

async function main(): Promise<void> {
  const [what, suite, seedList] = process.argv.slice(2);
  const workers = Number(process.env['TFLEET_FIGURE_WORKERS'] ?? 2);
  const stack = await startTestStack({ workers, env: { TFLEET_MAX_RANKS: '1' } });
  try {
    if (what === 'asha') await asha(stack);
    else if (what === 'shootout' && suite) await shootout(stack, suite, (seedList ?? '7').split(',').map(Number));
    else throw new Error('usage: main.js asha | shootout <suite> [seed,seed]');
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
