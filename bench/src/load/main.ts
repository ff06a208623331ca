import 'reflect-metadata';
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { QueueName } from '@tfleet/contracts';
import { openDatabase } from '@tfleet/persistence';
import { redisOptionsFromUrl } from '@tfleet/queue';
import { ensureRedis, freePort } from '../../../apps/launcher/src/redis-server';
import { STACK_ENTRY_POINTS } from '../../../apps/launcher/src/stack';
import { seedBenchData } from '../api/seed';
import { pacedLoad, quantile } from './paced';

/*
 * npm run bench:load [-- --rate 200 --duration 30 --connections 10 --experiments 2000 --profile 1 --phase submit --driver paced]
 *
 * Starts the real API as its own process (SQLite in a new directory, Redis at REDIS_URL, or a
 * redis-server of its own, on a queue prefix of its own; no worker, so submissions stay queued),
 * seeds `experiments` finished runs so the leaderboard has something to rank, then drives it
 * over loopback at a fixed rate: submissions (POST /api/experiments) for `duration` seconds,
 * then leaderboard reads (GET /api/leaderboard?dataset=mnist&metric=accuracy) for as long. The
 * default driver, `paced`, sends one request every 1/rate s whatever the answers do and times
 * each from when it was due (paced.ts says why not autocannon's rate mode); `--driver
 * autocannon` runs autocannon 9 as before, for comparison (bursts of a second's share, and its
 * coordinated-omission samples: `latencySamples` counts them). Prints one JSON line per phase: throughput, p50, p99, errors, and the machine's
 * load average before and after (this is a benchmark, not a test: it asserts nothing).
 * `--profile 1` runs the API with --cpu-prof and leaves its profile in ./bench-load-profile;
 * `--phase submit|leaderboard` runs that phase alone (a profile of one kind of request).
 */

interface Args {
  rate: number;
  duration: number;
  connections: number;
  experiments: number;
  profile: number;
  phase: PhaseName | null;
  driver: DriverName;
}

const DRIVER_NAMES = ['paced', 'autocannon'] as const;
type DriverName = (typeof DRIVER_NAMES)[number];
const isDriverName = (value: string | undefined): value is DriverName => DRIVER_NAMES.some((d) => d === value);

const PHASE_NAMES = ['submit', 'leaderboard'] as const;
type PhaseName = (typeof PHASE_NAMES)[number];
const isPhaseName = (value: string | undefined): value is PhaseName => PHASE_NAMES.some((p) => p === value);

function parseArgs(argv: string[]): Args {
  const args: Args = { rate: 200, duration: 30, connections: 10, experiments: 2_000, profile: 0, phase: null, driver: 'paced' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    if (flag === '--phase') {
      if (!isPhaseName(value)) throw new Error(`--phase must be one of ${PHASE_NAMES.join(', ')}, not ${value ?? 'nothing'}`);
      args.phase = value;
      continue;
    }
    if (flag === '--driver') {
      if (!isDriverName(value)) throw new Error(`--driver must be one of ${DRIVER_NAMES.join(', ')}, not ${value ?? 'nothing'}`);
      args.driver = value;
      continue;
    }
    const name = flag.slice(2) as Exclude<keyof Args, 'phase' | 'driver'>;
    const n = Number(value);
    if (!(name in args) || !Number.isInteger(n) || n < (name === 'profile' ? 0 : 1)) throw new Error(`unknown option or bad value: ${flag} ${value ?? ''}`);
    args[name] = n;
  }
  return args;
}

/**
 * CPU time (user + system, ms) a process has used, from /proc (Linux; null elsewhere). Per
 * request it says what the API costs whatever else the machine runs, where latency does not.
 */
function cpuMs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

/** The load average as `uptime` prints it, to record beside the figures. */
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function startApiProcess(env: NodeJS.ProcessEnv, baseUrl: string, execArgv: string[]): Promise<ChildProcess> {
  const child = fork(STACK_ENTRY_POINTS.api, [], { env, execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const up = await fetch(`${baseUrl}/api/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) return child;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the API did not start:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Phase {
  phase: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

/** What a phase's driver measured: counts, and latencies in ms. */
interface PhaseLoad {
  requests: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** autocannon only: samples in its latency histogram (requests plus its coordinated-omission fill). */
  latencySamples?: number;
}

/** autocannon's histogram summary carries totalCount, which its type declarations leave out. */
function histogramCount(summary: object): number | undefined {
  const count: unknown = 'totalCount' in summary ? summary.totalCount : undefined;
  return typeof count === 'number' ? count : undefined;
}

async function drive(baseUrl: string, apiKey: string, args: Args, phase: Phase): Promise<PhaseLoad> {
  const url = `${baseUrl}${phase.path}`;
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  if (args.driver === 'paced') {
    const r = await pacedLoad({ url, method: phase.method, headers, body: phase.body, rate: args.rate, durationS: args.duration, connections: args.connections });
    const round = (v: number | null): number | null => (v === null ? null : +v.toFixed(1));
    const [p50, p99, max] = [0.5, 0.99, 1].map((q) => round(quantile(r.latenciesMs, q)));
    return { requests: r.requests, p50Ms: p50 ?? null, p99Ms: p99 ?? null, maxMs: max ?? null, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts };
  }
  const r = await autocannon({ url, method: phase.method, headers, body: phase.body, connections: args.connections, overallRate: args.rate, duration: args.duration });
  return { requests: r.requests.total, p50Ms: r.latency.p50, p99Ms: r.latency.p99, maxMs: r.latency.max, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, latencySamples: histogramCount(r.latency) };
}

async function runPhase(baseUrl: string, apiKey: string, apiPid: number, args: Args, phase: Phase): Promise<Record<string, unknown>> {
  const loadBefore = load();
  const cpuBefore = cpuMs(apiPid);
  const measured = await drive(baseUrl, apiKey, args, phase);
  return {
    bench: 'load',
    phase: phase.phase,
    driver: args.driver,
    request: `${phase.method} ${phase.path}`,
    targetRatePerS: args.rate,
    durationS: args.duration,
    connections: args.connections,
    ...measured,
    throughputPerS: +(measured.requests / args.duration).toFixed(1),
    apiCpuMsPerRequest: cpuBefore === null ? null : +(((cpuMs(apiPid) ?? cpuBefore) - cpuBefore) / Math.max(1, measured.requests)).toFixed(2),
    loadAvgBefore: loadBefore,
    loadAvgAfter: load(),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'tfleet-bench-load-'));
  const redis = await ensureRedis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  const queuePrefix = `bench-load-${randomUUID().slice(0, 8)}`;
  const apiKey = `bench-${randomUUID()}`;
  let api: ChildProcess | null = null;
  try {
    const dbPath = join(dir, 'tfleet.sqlite');
    const seedSource = await openDatabase({ sqlite: dbPath });
    const seeded = await seedBenchData(seedSource, { experiments: args.experiments, pointsPerExperiment: 22, seed: 14 });
    await seedSource.destroy();

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    api = await startApiProcess(
      { ...process.env, PORT: String(port), HOST: '127.0.0.1', TFLEET_DATA_DIR: dir, TFLEET_DB_PATH: dbPath, REDIS_URL: redis.url, TFLEET_QUEUE_PREFIX: queuePrefix, TFLEET_API_KEY: apiKey },
      baseUrl,
      args.profile ? ['--cpu-prof', '--cpu-prof-dir', join(process.cwd(), 'bench-load-profile')] : [],
    );
    const machine = { cpu: cpus()[0]?.model.trim() ?? 'unknown CPU', cores: cpus().length, node: process.version, database: 'sqlite', seededExperiments: seeded.ids.length };
    console.error(`bench:load on ${machine.cores} core(s) (${machine.cpu}), Node ${machine.node}; API pid ${api.pid}, load average ${load()}`);
    // A short warm-up at the same rate, so the first phase does not pay for JIT and connection setup.
    await runPhase(baseUrl, apiKey, api.pid!, { ...args, duration: 3 }, { phase: 'warm-up', method: 'GET', path: '/api/leaderboard?dataset=mnist&metric=accuracy' });
    const phases: (Phase & { phase: PhaseName })[] = [
      { phase: 'submit', method: 'POST', path: '/api/experiments', body: JSON.stringify({ name: 'load', dataset: { name: 'mnist', samples: 200 }, model: { family: 'cnn' }, training: { epochs: 1 } }) },
      { phase: 'leaderboard', method: 'GET', path: '/api/leaderboard?dataset=mnist&metric=accuracy' },
    ];
    for (const phase of phases.filter((p) => args.phase === null || p.phase === args.phase)) console.log(JSON.stringify({ ...(await runPhase(baseUrl, apiKey, api.pid!, args, phase)), ...machine }));
  } finally {
    if (api !== null && api.exitCode === null) {
      const exited = new Promise((r) => api!.once('exit', r));
      api.kill('SIGTERM');
      await exited;
    }
    const queue = new Queue(QueueName.Experiments, { connection: redisOptionsFromUrl(redis.url), prefix: queuePrefix });
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    redis.process?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
