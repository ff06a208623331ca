import type { RedisOptions } from 'ioredis';
import IORedis from 'ioredis';

/** ioredis options from a redis:// or rediss:// URL. */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`REDIS_URL: '${u.pathname.slice(1)}' is not a database number`);
  return {
    host: u.hostname,
    port: u.port === '' ? 6379 : Number(u.port),
    username: u.username === '' ? undefined : decodeURIComponent(u.username),
    password: u.password === '' ? undefined : decodeURIComponent(u.password),
    db,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    // BullMQ workers block on Redis; they must not give up on a request while reconnecting.
    maxRetriesPerRequest: null,
  };
}

/**
 * Options for a client on a request path: while Redis is unreachable a command fails at once
 * instead of waiting in ioredis' offline queue, a command in flight when the connection drops
 * is failed rather than resent after the reconnect, and none waits longer than
 * `commandTimeoutMs`. So a caller that was told a command failed is never acted for later
 * (except a command Redis had already received when the timeout fired).
 */
export function failFastRedisOptions(url: string, commandTimeoutMs = 1_500): RedisOptions {
  return {
    ...redisOptionsFromUrl(url),
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2_000,
    // Keep trying to come back, at most every 2 s, so the service recovers soon after Redis does.
    retryStrategy: (times: number) => Math.min(200 * times, 2_000),
  };
}

export function createRedis(url: string, options: RedisOptions = {}): IORedis {
  return new IORedis({ ...redisOptionsFromUrl(url), ...options });
}

/** True when a Redis answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const client = createRedis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
