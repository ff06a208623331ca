import { type ChildProcess, fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TfleetConfig } from '@tfleet/config';
import { ensureRedis } from './redis-server';

/** The compiled main of each deployable the stack starts as a process. */
export interface StackEntryPoints {
  api: string;
  worker: string;
}

/**
 * The API's and the worker's compiled mains, resolved as modules from this file (not loaded:
 * the launcher runs neither in its own process). A missing build fails here, naming the file.
 */
export const STACK_ENTRY_POINTS: StackEntryPoints = {
  api: require.resolve('../../api/src/main'),
  worker: require.resolve('../../worker/src/main'),
};

export interface RunningStack {
  apiUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
}

function prefixOutput(child: ChildProcess, label: string, sink: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => sink(`[${label}] ${line}`));
  }
}

function stopChild(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A worker that exits this soon after its start counts as failing to start. */
const QUICK_EXIT_MS = 10_000;
/** Consecutive quick exits after which the launcher stops restarting the worker. */
const MAX_QUICK_EXITS = 5;

/**
 * Keeps one worker running: a worker that exits (it recycled itself after
 * TFLEET_WORKER_MAX_JOBS or TFLEET_WORKER_MAX_RSS_MB, or it crashed) is started again, as
 * docker compose's `restart:` does, until the stack stops. One that keeps dying right after its
 * start is restarted with a growing delay, then given up on, so a bad setting cannot spin.
 */
function superviseWorker(start: () => ChildProcess, stopping: () => boolean, log: (line: string) => void): void {
  let quickExits = 0;
  const launch = () => {
    const startedAt = Date.now();
    const child = start();
    child.once('exit', (code, signal) => {
      if (stopping()) return;
      quickExits = Date.now() - startedAt < QUICK_EXIT_MS ? quickExits + 1 : 0;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (quickExits >= MAX_QUICK_EXITS) {
        log(`[tfleet] the worker exited (${how}) ${quickExits} times within ${QUICK_EXIT_MS / 1000} s of starting; not restarting it`);
        return;
      }
      log(`[tfleet] the worker exited (${how}); starting a new one`);
      setTimeout(() => {
        if (!stopping()) launch();
      }, quickExits * 1_000).unref();
    });
  };
  launch();
}

/**
 * The embedded default: Redis (found or started), the API and one worker as two real
 * processes started from `entryPoints`, their output prefixed in this terminal; the worker is
 * restarted whenever it exits (see superviseWorker).
 */
export async function startStack(
  config: TfleetConfig,
  env: NodeJS.ProcessEnv,
  entryPoints: StackEntryPoints,
  log: (line: string) => void = console.log,
): Promise<RunningStack> {
  const redis = await ensureRedis(config.redisUrl);
  if (redis.process) log(`[tfleet] no Redis answered at ${config.redisUrl}; started redis-server for this session at ${redis.url}`);
  const childEnv = { ...env, REDIS_URL: redis.url, TFLEET_DATA_DIR: config.dataDir, TFLEET_DB_PATH: config.dbPath };
  const children: ChildProcess[] = [];
  const start = (app: 'api' | 'worker') => {
    const child = fork(entryPoints[app], [], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    prefixOutput(child, app, log);
    children.push(child);
    return child;
  };
  const api = start('api');
  let stopping = false;
  superviseWorker(() => start('worker'), () => stopping, log);
  const stop = async () => {
    stopping = true;
    await Promise.all(children.map((c) => stopChild(c)));
    if (redis.process) await stopChild(redis.process, 2_000);
  };
  const apiUrl = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
  // Wait for the API to answer its health check (or die trying).
  for (let i = 0; i < 600; i++) {
    if (api.exitCode !== null) {
      await stop();
      throw new Error(`the API exited with code ${api.exitCode} during start`);
    }
    const ok = await fetch(`${apiUrl}/api/health`).then((r) => r.ok, () => false);
    if (ok) return { apiUrl, redisUrl: redis.url, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error('the API did not answer within 60 s');
}
