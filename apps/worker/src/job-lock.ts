import { Inject, Injectable } from '@nestjs/common';
import type IORedis from 'ioredis';
import type { TfleetConfig } from '@tfleet/config';
import { jobLockKey } from '@tfleet/queue';
import { LOCK_REDIS } from './redis.providers';
import { CONFIG } from '@tfleet/config';

export interface JobLockWatchOptions {
  /** The lock's duration: after this long without a renewal another worker may take the job. */
  lockMs: number;
  /** How often the lock is read back. */
  checkEveryMs: number;
  now?: () => number;
}

/**
 * Watches that this worker still holds a job's lock, and says so the moment it may not.
 *
 * BullMQ renews the lock in the background but does not stop the processor when renewal
 * fails; after a long Redis outage the stalled-job checker gives the job to another worker
 * while the first one trains on. So the lock is read back (value and time to live) every
 * `checkEveryMs`: another token, or no key, means it is lost now; when Redis cannot be reached,
 * it is taken as lost a safety margin before the last known expiry, which is before any other
 * worker can have it.
 */
export class JobLockWatch {
  private deadline: number;
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private reason: string | null = null;
  private readonly now: () => number;

  constructor(
    private readonly redis: IORedis,
    private readonly key: string,
    private readonly token: string,
    private readonly options: JobLockWatchOptions,
    private readonly onLost: (reason: string) => void,
  ) {
    this.now = options.now ?? Date.now;
    // The lock was taken (or renewed) just before the processor was called.
    this.deadline = this.now() + options.lockMs;
  }

  /** Why the lock was lost, or null while it is held. */
  get lostReason(): string | null {
    return this.reason;
  }

  start(): this {
    this.timer = setInterval(() => void this.check(), this.options.checkEveryMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One read-back of the lock (the timer calls it; exposed for tests). */
  async check(): Promise<void> {
    if (this.checking || this.reason !== null) return;
    this.checking = true;
    try {
      const replies = await this.redis.multi().get(this.key).pttl(this.key).exec();
      const [getError, holder] = replies?.[0] ?? [new Error('no reply'), null];
      const [ttlError, ttl] = replies?.[1] ?? [new Error('no reply'), null];
      if (getError || ttlError) throw getError ?? ttlError;
      if (holder !== this.token) {
        this.lose(holder === null ? 'its lock expired' : 'another worker holds its lock');
        return;
      }
      if (typeof ttl === 'number' && ttl > 0) this.deadline = this.now() + ttl;
    } catch {
      // Unreachable: still ours until the last known expiry, minus one check and a margin.
      if (this.now() >= this.deadline - this.options.checkEveryMs - 500) this.lose('Redis was unreachable until its lock would expire');
    } finally {
      this.checking = false;
    }
  }

  private lose(reason: string): void {
    this.reason = reason;
    this.stop();
    this.onLost(reason);
  }
}

/** Starts lock watches with the worker's lock settings. */
@Injectable()
export class JobLocks {
  constructor(
    @Inject(LOCK_REDIS) private readonly redis: IORedis,
    @Inject(CONFIG) private readonly config: TfleetConfig,
  ) {}

  watch(queueName: string, jobId: string, token: string, onLost: (reason: string) => void): JobLockWatch {
    const checkEveryMs = Math.max(250, Math.min(5_000, Math.floor(this.config.jobLockMs / 6)));
    return new JobLockWatch(this.redis, jobLockKey(this.config.queuePrefix, queueName, jobId), token, { lockMs: this.config.jobLockMs, checkEveryMs }, onLost).start();
  }
}
