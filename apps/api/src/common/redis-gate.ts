import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import type IORedis from 'ioredis';
import { REDIS } from './redis.provider';

/** How long a request waits on Redis before it is told Redis is unavailable. */
export const REDIS_REQUEST_TIMEOUT_MS = 1_500;

/** A 503 that says Redis is away and that the request changed nothing. */
export class RedisUnavailableException extends ServiceUnavailableException {
  constructor(what: string) {
    super({
      statusCode: 503,
      error: 'Service Unavailable',
      message: `Redis is unavailable, so ${what} cannot be done now; nothing was changed. Try again when /api/health says redis is up.`,
    });
  }
}

/**
 * The door between a request and Redis. Its clients fail fast (see failFastRedisOptions), so
 * while Redis is away a request learns it at once, or after REDIS_REQUEST_TIMEOUT_MS at
 * most, instead of hanging until Redis comes back and then acting for a client that left.
 */
@Injectable()
export class RedisGate {
  constructor(@Inject(REDIS) private readonly redis: IORedis) {}

  /** False while the connection is down (no round trip). */
  get ready(): boolean {
    return this.redis.status === 'ready';
  }

  /** Throws the 503 at once when the connection is known to be down. */
  assertReady(what: string): void {
    if (!this.ready) throw new RedisUnavailableException(what);
  }

  /** Runs `work` against Redis; a connection failure or a timeout becomes the 503. */
  async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    this.assertReady(what);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisUnavailableException(what)), REDIS_REQUEST_TIMEOUT_MS);
    });
    try {
      return await Promise.race([work(), timeout]);
    } catch (error) {
      if (error instanceof RedisUnavailableException) throw error;
      if (isConnectionError(error) || !this.ready) throw new RedisUnavailableException(what);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** ioredis' ways of saying the command never got an answer. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /enableOfflineQueue|Connection is closed|Stream isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE/i.test(error.message)
  );
}
