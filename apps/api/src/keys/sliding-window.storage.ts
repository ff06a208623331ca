import type { ThrottlerStorage } from '@nestjs/throttler';

interface WindowCounts {
  /** Index of the current window (time / ttl). */
  window: number;
  current: number;
  previous: number;
}

/** The record @nestjs/throttler's guard expects from a storage. */
export interface ThrottlerRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * A sliding-window counter: the hits of the current fixed window plus the previous window's,
 * weighted by how much of it still overlaps the sliding window. O(1) time and memory per key,
 * where @nestjs/throttler's own storage keeps (and filters, on every request) one timestamp per
 * hit: 60,000 of them a minute at the default limit. A refused request does not count.
 * In memory, per API process.
 */
export class SlidingWindowStorage implements ThrottlerStorage {
  private readonly counts = new Map<string, WindowCounts>();

  constructor(private readonly now: () => number = Date.now) {}

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerRecord> {
    const now = this.now();
    const window = Math.floor(now / ttl);
    let counts = this.counts.get(key);
    if (counts === undefined) {
      counts = { window, current: 0, previous: 0 };
      this.counts.set(key, counts);
    } else if (counts.window !== window) {
      counts.previous = counts.window === window - 1 ? counts.current : 0;
      counts.current = 0;
      counts.window = window;
    }
    const elapsed = now - window * ttl;
    const weight = 1 - elapsed / ttl;
    const timeToExpire = Math.ceil((ttl - elapsed) / 1000);
    const hits = counts.previous * weight + counts.current + 1;
    if (hits <= limit) {
      counts.current++;
      return { totalHits: Math.ceil(hits), timeToExpire, isBlocked: false, timeToBlockExpire: 0 };
    }
    return { totalHits: Math.ceil(hits), timeToExpire, isBlocked: true, timeToBlockExpire: Math.max(1, Math.ceil(this.waitMs(counts, elapsed, ttl, limit) / 1000)) };
  }

  /** How long until one more hit fits under the limit. */
  private waitMs(counts: WindowCounts, elapsed: number, ttl: number, limit: number): number {
    // Within this window: the previous window's weight falls as time passes.
    if (counts.current + 1 <= limit && counts.previous > 0) {
      return ((counts.previous * (1 - elapsed / ttl) + counts.current + 1 - limit) / counts.previous) * ttl;
    }
    // Only in the next window, once this window's hits (then the previous ones) weigh little enough.
    const fraction = counts.current > 0 ? Math.max(0, 1 - (limit - 1) / counts.current) : 0;
    return ttl - elapsed + fraction * ttl;
  }
}
