import { Inject, Injectable, Logger } from '@nestjs/common';
import type IORedis from 'ioredis';
import { CheckpointStore } from '@tfleet/artifacts';
import { type CheckpointPayload, type CheckpointPointer, checkpointPointerSchema, formatIssues, parseWith } from '@tfleet/contracts';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import { resumePointKey } from '@tfleet/queue';
import { WORKER_REDIS } from './redis.providers';

/** A checkpoint to resume from: where it is, and its contents read back from the store. */
export interface ResumePoint {
  pointer: CheckpointPointer;
  payload: CheckpointPayload;
}

/** How often a hand-back asks whether the API has recorded its last checkpoint. */
const PUBLISHED_POLL_MS = 100;

/**
 * The worker's side of the checkpoint store: it writes its runs' checkpoints there (so that
 * only references travel through Redis), and reads where an attempt resumes from the resume
 * key the API keeps (see ResumePoints in the API), validated before it is trusted.
 */
@Injectable()
export class RunCheckpoints {
  private readonly logger = new Logger(RunCheckpoints.name);

  constructor(
    private readonly store: CheckpointStore,
    @Inject(WORKER_REDIS) private readonly redis: IORedis,
    @Inject(CONFIG) private readonly config: TfleetConfig,
  ) {}

  write(experimentId: string, attempt: number, payload: CheckpointPayload): Promise<CheckpointPointer> {
    return this.store.writeCheckpoint(experimentId, payload, attempt);
  }

  read(pointer: CheckpointPointer): Promise<CheckpointPayload> {
    return this.store.readCheckpoint(pointer.ref);
  }

  /**
   * Where a new attempt of the experiment resumes: its latest recorded checkpoint, or null to
   * start fresh (none yet, or the key or the file is not usable: logged, and the run starts
   * over rather than failing: starting fresh is always correct, only slower).
   */
  async resumePoint(experimentId: string): Promise<ResumePoint | null> {
    const pointer = await this.pointer(experimentId);
    if (pointer === null) return null;
    try {
      const payload = await this.store.readCheckpoint(pointer.ref);
      if (payload.step !== pointer.step || payload.kind !== pointer.kind) throw new Error(`the file holds step ${payload.step} (${payload.kind}), the key says ${pointer.step} (${pointer.kind})`);
      return { pointer, payload };
    } catch (error) {
      this.logger.warn(`experiment ${experimentId}: checkpoint ${pointer.ref} not usable, starting fresh: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    }
  }

  /**
   * Waits until the API has recorded `checkpoint` (the resume key names it or a later one), at
   * most `timeoutMs`: a job handed back before that would resume from an older checkpoint.
   * True when it was recorded in time.
   */
  async waitUntilRecorded(experimentId: string, checkpoint: CheckpointPointer, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pointer = await this.pointer(experimentId).catch(() => null);
      if (pointer !== null && pointer.step >= checkpoint.step) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, PUBLISHED_POLL_MS));
    }
  }

  /** The resume key, validated: JSON of a pointer into this experiment's own checkpoints. */
  private async pointer(experimentId: string): Promise<CheckpointPointer | null> {
    const raw = await this.redis.get(resumePointKey(this.config.queuePrefix, experimentId));
    if (raw === null) return null;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      this.logger.warn(`experiment ${experimentId}: resume key is not JSON; starting fresh`);
      return null;
    }
    const parsed = parseWith(checkpointPointerSchema, json);
    if (!parsed.ok) {
      this.logger.warn(`experiment ${experimentId}: resume key is not valid (${formatIssues(parsed.issues)}); starting fresh`);
      return null;
    }
    if (!parsed.value.ref.startsWith(`${experimentId}/`)) {
      this.logger.warn(`experiment ${experimentId}: resume key names another experiment's checkpoint (${parsed.value.ref}); starting fresh`);
      return null;
    }
    return parsed.value;
  }
}
