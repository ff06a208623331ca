import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../apps/launcher/src/redis-server';
import { STACK_ENTRY_POINTS } from '../../apps/launcher/src/stack';

const TEST_REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface TestStack {
  baseUrl: string;
  apiKey: string;
  queuePrefix: string;
  dataDir: string;
  output: string[];
  request(method: string, path: string, body?: unknown, key?: string | null): Promise<{ status: number; body: unknown }>;
  stop(): Promise<void>;
}

/** Starts the real API and worker processes on a unique queue prefix, port and data dir. */
export async function startTestStack(extraEnv: Record<string, string> = {}): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tfleet-e2e-'));
  const port = await freePort();
  const queuePrefix = `e2e-${randomUUID().slice(0, 8)}`;
  const apiKey = `test-key-${randomUUID()}`;
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    TFLEET_DATA_DIR: dataDir,
    REDIS_URL: TEST_REDIS_URL,
    TFLEET_QUEUE_PREFIX: queuePrefix,
    TFLEET_API_KEY: apiKey,
    TFLEET_BACKEND: 'wasm',
    TFLEET_MAX_RANKS: '2',
    ...extraEnv,
  };
  const output: string[] = [];
  const children: ChildProcess[] = (['api', 'worker'] as const).map((app) => {
    const child = fork(STACK_ENTRY_POINTS[app], [], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    child.stdout?.on('data', (d: Buffer) => output.push(`[${app}] ${d.toString()}`));
    child.stderr?.on('data', (d: Buffer) => output.push(`[${app}] ${d.toString()}`));
    return child;
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const request: TestStack['request'] = async (method, path, body, key = apiKey) => {
    const headers: Record<string, string> = {};
    if (key !== null) headers['authorization'] = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (e.g. the docs page)
    }
    return { status: response.status, body: parsed };
  };
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
            c.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const health = await request('GET', '/api/health', undefined, null).catch(() => null);
    if (health?.status === 200 && (health.body as { workers?: number }).workers === 1) break;
    if (Date.now() > deadline || children.some((c) => c.exitCode !== null)) {
      await stop();
      throw new Error(`stack did not start:\n${output.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { baseUrl, apiKey, queuePrefix, dataDir, output, request, stop };
}

/** Polls `probe` until it returns a value (not undefined) or the time runs out. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
