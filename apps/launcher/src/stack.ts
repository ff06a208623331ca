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

/**
 * The embedded default: Redis (found or started), the API and one worker as two real
 * processes started from `entryPoints`, their output prefixed in this terminal.
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
  start('worker');
  const stop = async () => {
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
