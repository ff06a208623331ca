import { loadConfig } from '@tfleet/config';
import { STACK_ENTRY_POINTS, startStack } from '../../launcher/src/stack';

/**
 * `npm run demo`: starts the embedded stack, submits a small CNN on MNIST through the API,
 * prints its progress until it finishes, then the leaderboard, and stops everything.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const quiet: string[] = [];
  const stack = await startStack(config, process.env, STACK_ENTRY_POINTS, (line) => quiet.push(line));
  const keyLine = quiet.find((l) => l.includes('API key'));
  const key = config.apiKey ?? keyLine?.split(': ').pop()?.replace(/\u001b\[[0-9;]*m/g, '').trim();
  if (!key) throw new Error('could not learn the API key');
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${stack.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await r.json()) as Record<string, unknown>;
  };
  try {
    const spec = { name: 'demo-cnn', dataset: { name: 'mnist', samples: 4000 }, model: { family: 'cnn' }, training: { epochs: 2 } };
    console.log(`submitting ${JSON.stringify(spec)}`);
    // 4,000 digits is its own board (a board is one task measured one way), so the demo ranks that board.
    const { id, boardKey } = (await call('POST', '/api/experiments', spec)) as { id: string; boardKey: string };
    let last = '';
    for (;;) {
      const e = (await call('GET', `/api/experiments/${id}`)) as {
        status: string;
        progress: { epoch: number; epochs: number; step: number; totalSteps: number; loss: number | null; samplesPerSecond: number } | null;
        metrics: Record<string, number> | null;
        error: string | null;
      };
      const p = e.progress;
      const line = p
        ? `${e.status}: epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.totalSteps}, loss ${p.loss?.toFixed(4) ?? '-'}, ${p.samplesPerSecond.toFixed(0)} samples/s`
        : e.status;
      if (line !== last) console.log(line);
      last = line;
      if (['completed', 'failed', 'cancelled', 'diverged'].includes(e.status)) {
        if (e.error) console.log(`error: ${e.error}`);
        if (e.metrics) console.log(`test metrics: ${JSON.stringify(e.metrics)}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const board = (await call('GET', `/api/leaderboard?dataset=mnist&board=${boardKey}&metric=accuracy&limit=5`)) as {
      entries: { rank: number; name: string | null; family: string; value: number; paramCount: number; samplesPerSecond: number; backend: string }[];
    };
    console.log(`\nleaderboard (mnist, board ${boardKey}: 4,000 digits; test accuracy):`);
    console.table(board.entries.map((e) => ({ rank: e.rank, name: e.name, family: e.family, accuracy: e.value, params: e.paramCount, 'samples/s': Math.round(e.samplesPerSecond), backend: e.backend })));
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`[demo] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
