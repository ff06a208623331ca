import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../apps/launcher/src/redis-server';
import { redisAnswers } from '@tfleet/queue';
import { STACK_ENTRY_POINTS } from '../../apps/launcher/src/stack';

export const TEST_REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface TestResponse {
  status: number;
  body: unknown;
  /** Wall time of the request, for "answered within" checks (never for speed claims). */
  ms: number;
}

export interface TestStack {
  baseUrl: string;
  apiKey: string;
  queuePrefix: string;
  dataDir: string;
  dbPath: string;
  output: string[];
  request(method: string, path: string, body?: unknown, key?: string | null): Promise<TestResponse>;
  /** Running processes by name ('api', 'worker-1', ...). */
  processes: Map<string, ChildProcess>;
  /** Starts the API (again), waits until it answers /api/health. */
  startApi(): Promise<void>;
  /** Starts a worker named `name` (its TFLEET_WORKER_ID), waits until the API counts it. */
  startWorker(name: string): Promise<ChildProcess>;
  /** Sends `signal` to a process and waits for it to exit. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export interface TestStackOptions {
  /** Workers started with the API (default 1), named worker-1, worker-2, ... */
  workers?: number;
  env?: Record<string, string>;
}

/**
 * Starts the real API and worker processes on a unique queue prefix, port and data dir.
 * `startTestStack(env)` is the one-API-one-worker stack; options start more workers.
 */
export async function startTestStack(extraEnvOrOptions: Record<string, string> | TestStackOptions = {}): Promise<TestStack> {
  const options: TestStackOptions = 'env' in extraEnvOrOptions || 'workers' in extraEnvOrOptions ? (extraEnvOrOptions as TestStackOptions) : { env: extraEnvOrOptions as Record<string, string> };
  const dataDir = mkdtempSync(join(tmpdir(), 'tfleet-e2e-'));
  const port = await freePort();
  const queuePrefix = `e2e-${randomUUID().slice(0, 8)}`;
  const apiKey = `test-key-${randomUUID()}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    TFLEET_DATA_DIR: dataDir,
    REDIS_URL: TEST_REDIS_URL,
    TFLEET_QUEUE_PREFIX: queuePrefix,
    TFLEET_API_KEY: apiKey,
    TFLEET_BACKEND: 'wasm',
    TFLEET_MAX_RANKS: '2',
    ...options.env,
  };
  const output: string[] = [];
  const processes = new Map<string, ChildProcess>();
  const baseUrl = `http://127.0.0.1:${port}`;

  const spawnApp = (name: string, app: 'api' | 'worker', extra: Record<string, string> = {}): ChildProcess => {
    const child = fork(STACK_ENTRY_POINTS[app], [], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    child.stdout?.on('data', (d: Buffer) => output.push(`[${name}] ${d.toString()}`));
    child.stderr?.on('data', (d: Buffer) => output.push(`[${name}] ${d.toString()}`));
    processes.set(name, child);
    child.once('exit', () => {
      if (processes.get(name) === child) processes.delete(name);
    });
    return child;
  };

  const request: TestStack['request'] = async (method, path, body, key = apiKey) => {
    const headers: Record<string, string> = {};
    if (key !== null) headers['authorization'] = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const started = Date.now();
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (e.g. the docs page)
    }
    return { status: response.status, body: parsed, ms: Date.now() - started };
  };

  const kill: TestStack['kill'] = async (name, signal = 'SIGTERM') => {
    const child = processes.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(signal);
    });
  };

  const stop = async () => {
    await Promise.all([...processes.keys()].map((name) => kill(name)));
    rmSync(dataDir, { recursive: true, force: true });
  };

  const waitFor = async (what: string, child: ChildProcess, ready: () => Promise<boolean>) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline || child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${what} did not start:\n${output.join('')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const workerCount = async (): Promise<number | null> => {
    const health = await request('GET', '/api/health', undefined, null);
    return health.status === 200 ? ((health.body as { workers?: number | null }).workers ?? null) : null;
  };

  const startApi = async () => {
    const child = spawnApp('api', 'api');
    await waitFor('the API', child, async () => (await workerCount()) !== null || (await request('GET', '/api/health', undefined, null)).status === 200);
  };

  const startWorker = async (name: string) => {
    const before = (await workerCount().catch(() => null)) ?? 0;
    const child = spawnApp(name, 'worker', { TFLEET_WORKER_ID: name });
    await waitFor(name, child, async () => ((await workerCount()) ?? 0) > before);
    return child;
  };

  try {
    await startApi();
    for (let i = 1; i <= (options.workers ?? 1); i++) await startWorker(`worker-${i}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { baseUrl, apiKey, queuePrefix, dataDir, dbPath: join(dataDir, 'tfleet.sqlite'), output, request, processes, startApi, startWorker, kill, stop };
}

/** Polls `probe` until it returns a value (not undefined) or the time runs out. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Polls an experiment until it is completed, failed or cancelled, and returns its view. */
export function finishedExperiment<T extends { status: string }>(stack: Pick<TestStack, 'request'>, id: string, timeoutMs: number): Promise<T> {
  return eventually(
    async () => {
      const body = (await stack.request('GET', `/api/experiments/${id}`)).body as T;
      return ['completed', 'failed', 'cancelled', 'diverged'].includes(body.status) ? body : undefined;
    },
    timeoutMs,
    `experiment ${id} to finish`,
  );
}

export interface PrivateRedis {
  url: string;
  /** Stops the server as an outage would (it writes its append-only file first). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  destroy(): Promise<void>;
}

/** A redis-server of the test's own, with persistence, on its own port: one a test may stop. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tfleet-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await redisAnswers(url, 200)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`redis-server on port ${port} did not answer`);
  };
  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
  };
  await start();
  return {
    url,
    stop,
    start,
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Clock ticks of CPU (user + system, all its threads) a process has used so far, from /proc:
 * what the kernel accounted, so two readings say whether the process trained in between.
 */
export function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start past the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat: 12 and 13 here, counted from 1 after the name.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}
