import { Inject, Injectable } from '@nestjs/common';
import type IORedis from 'ioredis';
import { type CheckpointPointer } from '@tfleet/contracts';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import { ExperimentsRepository } from '@tfleet/persistence';
import { RESUME_POINT_TTL_SECONDS, resumePointKey } from '@tfleet/queue';
import { REDIS } from './redis.provider';

/**
 * Tells the workers where a retried attempt of an experiment resumes: a small key in Redis with
 * the pointer to its latest stored checkpoint (never the weights), rewritten by the API from the
 * database whenever that changes. Workers read it when an attempt starts and validate it.
 */
@Injectable()
export class ResumePoints {
  constructor(
    @Inject(REDIS) private readonly redis: IORedis,
    @Inject(CONFIG) private readonly config: TfleetConfig,
    private readonly repository: ExperimentsRepository,
  ) {}

  /** Points the experiment's resume key at its latest stored checkpoint, or removes the key when it has none. Returns what it wrote. */
  async publish(experimentId: string): Promise<CheckpointPointer | null> {
    const key = resumePointKey(this.config.queuePrefix, experimentId);
    const latest = await this.repository.latestCheckpoint(experimentId);
    if (!latest) {
      await this.redis.del(key);
      return null;
    }
    const pointer: CheckpointPointer = { ref: latest.ref, step: latest.step, epoch: latest.epoch, kind: latest.kind, bytes: latest.sizeBytes };
    await this.redis.set(key, JSON.stringify(pointer), 'EX', RESUME_POINT_TTL_SECONDS);
    return pointer;
  }

  /** A finished experiment resumes nowhere (POST /resume publishes again). */
  async clear(experimentId: string): Promise<void> {
    await this.redis.del(resumePointKey(this.config.queuePrefix, experimentId));
  }
}
