import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadConfig } from '@tfleet/config';
import { openDatabase } from '@tfleet/persistence';
import { createTestDatabase } from '../../../test/utils/postgres.util';
import { startApi } from '../../../apps/api/src/main';
import { seedBenchData } from './seed';

/*
 * npm run bench:api [-- --experiments 10000 --points 100 --iterations 200 --only sqlite|postgres]
 *
 * Seeds `experiments` finished runs with `points` metric points each (10,000 x 100 = 1,000,000
 * by default) into a new SQLite file and a new PostgreSQL database (created on
 * TFLEET_TEST_POSTGRES_URL's server, dropped at the end), starts the real API on each (Redis
 * needed, a queue prefix of its own) and times, over HTTP from this process, three requests:
 * a leaderboard with a filter, a leaderboard with groupBy, and a compare of 20 runs.
 * Prints p50/p99 per request and database.
 */

interface Args {
  experiments: number;
  points: number;
  iterations: number;
  only: 'sqlite' | 'postgres' | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { experiments: 10_000, points: 100, iterations: 200, only: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--experiments' || flag === '--points' || flag === '--iterations') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer`);
      args[flag.slice(2) as 'experiments' | 'points' | 'iterations'] = n;
    } else if (flag === '--only' && (value === 'sqlite' || value === 'postgres')) args.only = value;
    else throw new Error(`unknown option ${flag} ${value}`);
  }
  return args;
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

async function time(url: string, headers: Record<string, string>, iterations: number): Promise<{ p50: number; p99: number }> {
  const once = async () => {
    const started = process.hrtime.bigint();
    const response = await fetch(url, { headers });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  for (let i = 0; i < Math.min(20, iterations); i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) samples.push(await once());
  samples.sort((a, b) => a - b);
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) };
}

async function benchOne(kind: 'sqlite' | 'postgres', args: Args): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tfleet-bench-api-'));
  const pg = kind === 'postgres' ? await createTestDatabase('tfleet_bench') : null;
  let app: NestExpressApplication | null = null;
  try {
    const dbPath = join(dir, 'tfleet.sqlite');
    const seedSource = await openDatabase(pg ? { postgres: pg.url } : { sqlite: dbPath });
    const seeded = await seedBenchData(seedSource, { experiments: args.experiments, pointsPerExperiment: args.points, seed: 12 });
    await seedSource.destroy();
    console.error(`${kind}: seeded ${seeded.ids.length} experiments and ${seeded.points} metric points in ${(seeded.ms / 1000).toFixed(1)} s`);

    const apiKey = `bench-${randomUUID()}`;
    const config = loadConfig({
      ...process.env,
      PORT: '0',
      TFLEET_DATA_DIR: dir,
      TFLEET_DB_PATH: dbPath,
      TFLEET_API_KEY: apiKey,
      TFLEET_QUEUE_PREFIX: `bench-api-${randomUUID().slice(0, 8)}`,
      ...(pg ? { DATABASE_URL: pg.url } : {}),
    });
    app = await startApi(config);
    const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const headers = { authorization: `Bearer ${apiKey}` };
    const filter = encodeURIComponent("model.family = 'cnn' AND training.learningRate < 0.005 AND metrics.loss < 0.4");
    const twenty = seeded.defaultBoardIds.slice(0, 20).join(',');
    const cases: [string, string][] = [
      ['leaderboard + filter', `/api/leaderboard?dataset=mnist&metric=accuracy&limit=20&filter=${filter}`],
      ['leaderboard + groupBy', '/api/leaderboard?dataset=mnist&metric=accuracy&groupBy=training.learningRate,training.batchSize&aggregate=mean'],
      ['compare 20 runs', `/api/compare?ids=${twenty}`],
    ];
    for (const [name, path] of cases) {
      const { p50, p99 } = await time(`${base}${path}`, headers, args.iterations);
      console.log(JSON.stringify({ database: kind, request: name, experiments: seeded.ids.length, points: seeded.points, iterations: args.iterations, p50Ms: +p50.toFixed(2), p99Ms: +p99.toFixed(2) }));
      console.error(`${kind.padEnd(8)} ${name.padEnd(22)} p50 ${p50.toFixed(1).padStart(7)} ms   p99 ${p99.toFixed(1).padStart(7)} ms`);
    }
  } finally {
    await app?.close();
    await pg?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  console.error(`bench:api on ${cpus().length} core(s) (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}`);
  for (const kind of ['sqlite', 'postgres'] as const) if (args.only === null || args.only === kind) await benchOne(kind, args);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
