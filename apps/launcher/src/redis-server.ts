import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { redisAnswers } from '@tfleet/queue';

export interface RedisForSession {
  url: string;
  /** The redis-server this session started, or null when one was already answering. */
  process: ChildProcess | null;
}

class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const hasRedisServer = (): boolean => spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * The Redis the embedded default uses: the one at `url` when it answers, else a
 * redis-server started for this session on a free port (no persistence), else a clear error.
 */
export async function ensureRedis(url: string): Promise<RedisForSession> {
  if (await redisAnswers(url)) return { url, process: null };
  if (!hasRedisServer()) {
    throw new RedisUnavailableError(
      `no Redis answers at ${url} and there is no redis-server on the PATH.\n` +
        `  Install one:   sudo apt-get install -y redis-server   (or: brew install redis)\n` +
        `  Or run one:    docker run -d -p 127.0.0.1:6379:6379 redis:7-alpine\n` +
        `  Or point REDIS_URL at a Redis you have.`,
    );
  }
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const sessionUrl = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(sessionUrl, 200)) return { url: sessionUrl, process: child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new RedisUnavailableError(`started redis-server on port ${port} but it did not answer`);
}
