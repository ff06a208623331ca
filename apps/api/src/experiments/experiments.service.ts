import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  type CheckpointPointer,
  DATASET_TASKS,
  type ExperimentSpec,
  JobName,
  type TrainExperimentJobData,
  trainingProgressSchema,
  type TrainingProgress,
} from '@tfleet/contracts';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import { type ExperimentEntity, ExperimentsRepository, type ListQuery, type Page, TERMINAL_STATUSES } from '@tfleet/persistence';
import { experimentJobOptions } from '@tfleet/queue';
import { EXPERIMENTS_QUEUE, type ExperimentsQueue } from '../common/experiments-queue.provider';
import { withFilterErrors } from '../common/filter-errors';
import { JobSignals } from '../common/job-signals';
import { RedisGate } from '../common/redis-gate';
import { ResumePoints } from '../common/resume-points';
import { invalidInput } from '../common/zod-validation.pipe';
import { type QueueFacts, queueFacts } from './experiment.view';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class ExperimentsService {
  constructor(
    private readonly repository: ExperimentsRepository,
    @Inject(EXPERIMENTS_QUEUE) private readonly queue: ExperimentsQueue,
    @Inject(CONFIG) private readonly config: TfleetConfig,
    private readonly redisGate: RedisGate,
    private readonly signals: JobSignals,
    private readonly resumePoints: ResumePoints,
  ) {}

  /**
   * Stores the experiment as queued, then enqueues it (job id = experiment id). A 201 means
   * both happened. If enqueueing fails the row is deleted and the client gets a 503, so nothing
   * runs. If the API dies between the two, the reconciler enqueues the row at its next pass;
   * if an enqueue that timed out did reach Redis, the reconciler removes the job (its row is
   * gone) and a worker that already started it is told to stop.
   */
  async submit(spec: ExperimentSpec): Promise<ExperimentEntity> {
    this.redisGate.assertReady('a submission');
    const pretrained = await this.pretrainedCheckpoint(spec);
    const id = randomUUID();
    const entity = await this.repository.insertQueued(id, spec);
    try {
      await this.redisGate.call('a submission', () => this.enqueue(id, spec, pretrained));
    } catch (error) {
      await this.repository.delete(id);
      throw error;
    }
    return entity;
  }

  /** Enqueues a stored experiment again (the reconciler, for a row that lost its job); a no-op if the job exists. */
  async requeue(experiment: ExperimentEntity): Promise<void> {
    await this.enqueue(experiment.id, experiment.spec, await this.pretrainedCheckpoint(experiment.spec));
  }

  /** Adds an experiment's job; a second add of the same id is a no-op (BullMQ deduplicates by job id). */
  private async enqueue(id: string, spec: ExperimentSpec, pretrained?: CheckpointPointer): Promise<void> {
    const data: TrainExperimentJobData = { experimentId: id, spec, ...(pretrained ? { pretrained } : {}) };
    // training.maxRestarts bounds the automatic retries: BullMQ's attempts count the first one too.
    const attempts = spec.training.maxRestarts === undefined ? this.config.jobAttempts : spec.training.maxRestarts + 1;
    await this.queue.add(JobName.TrainExperiment, data, experimentJobOptions(id, attempts, spec.training.priority));
  }

  /**
   * Continues a failed or cancelled experiment from its latest checkpoint: the resume key is
   * pointed at it, the finished job is removed, the row goes back to `queued` and a new job is
   * added (same id). The attempt that picks it up resumes like any retry. 409 when the
   * experiment did not fail and was not cancelled, has no checkpoint, or its job is still
   * stopping on a worker.
   */
  async resume(id: string): Promise<ExperimentEntity> {
    const experiment = await this.findOrFail(id);
    if (experiment.status !== 'failed' && experiment.status !== 'cancelled') {
      throw new ConflictException(`experiment ${id} is ${experiment.status}: only a failed or cancelled experiment can be resumed`);
    }
    const checkpoint = await this.repository.latestCheckpoint(id);
    if (!checkpoint || checkpoint.kind === 'final') {
      throw new ConflictException(`experiment ${id} has no checkpoint to resume from`);
    }
    const pretrained = await this.pretrainedCheckpoint(experiment.spec);
    await this.redisGate.call('a resume', async () => {
      const job = await this.queue.getJob(id);
      if (job) {
        const state = await job.getState();
        if (state === 'active') throw new ConflictException(`experiment ${id} is still stopping on its worker; try again in a few seconds`);
        await job.remove();
      }
      await this.signals.clearStop(id);
      await this.resumePoints.publish(id);
    });
    if (!(await this.repository.reopen(id))) throw new ConflictException(`experiment ${id} changed while it was being resumed`);
    try {
      await this.redisGate.call('a resume', () => this.enqueue(id, experiment.spec, pretrained));
    } catch (error) {
      await this.repository.finish(id, experiment.status, experiment.error, new Date());
      throw error;
    }
    return this.findOrFail(id);
  }

  /** Reads answer from the database alone; live progress is added when Redis answers. */
  async get(id: string): Promise<{ experiment: ExperimentEntity; progress: TrainingProgress | null; queue: QueueFacts }> {
    const experiment = await this.findOrFail(id);
    const job = await this.jobFacts(id);
    return { experiment, progress: experiment.status === 'running' ? job.progress : null, queue: queueFacts(experiment, job.facts) };
  }

  /** A page of experiments; a filter that is not valid is a 400 with its position. */
  list(query: ListQuery): Promise<Page<ExperimentEntity>> {
    return withFilterErrors(() => this.repository.list(query));
  }

  async metrics(id: string) {
    await this.findOrFail(id);
    return this.repository.metricHistory(id);
  }

  async checkpoints(id: string) {
    await this.findOrFail(id);
    return this.repository.listCheckpoints(id);
  }

  /**
   * Cancels a queued or running experiment. The database says `cancelled` at once; a waiting
   * job is removed, and a running one is told through Redis (a key for a worker that has not
   * looked yet, a message for one that is training) and stops at its next step.
   */
  async cancel(id: string): Promise<ExperimentEntity> {
    const experiment = await this.findOrFail(id);
    if (TERMINAL_STATUSES.includes(experiment.status)) {
      throw new ConflictException(`experiment ${id} is already ${experiment.status}`);
    }
    await this.redisGate.call('a cancel', () => this.signals.stop(id));
    await this.repository.finish(id, 'cancelled', null, new Date());
    return this.findOrFail(id);
  }

  /**
   * BERT fine-tuning starts from a completed masked-LM pretraining run; the job names its final
   * checkpoint in the store (workers never open the database; weights never travel in Redis).
   */
  private async pretrainedCheckpoint(spec: ExperimentSpec): Promise<CheckpointPointer | undefined> {
    if (spec.model.family !== 'bert' || spec.model.pretrainedFrom === undefined) return undefined;
    const field = 'model.pretrainedFrom';
    const source = await this.repository.findById(spec.model.pretrainedFrom);
    if (!source) throw invalidInput('experiment spec', [{ field, message: `no experiment ${spec.model.pretrainedFrom}` }]);
    if (source.modelFamily !== 'bert' || DATASET_TASKS[source.spec.dataset.name] !== 'language-modelling') {
      throw invalidInput('experiment spec', [{ field, message: 'must name a bert experiment pretrained on a language-modelling data set (e.g. brown)' }]);
    }
    const checkpoint = source.status === 'completed' ? await this.repository.latestCheckpoint(source.id, 'final') : null;
    if (!checkpoint) throw invalidInput('experiment spec', [{ field, message: `experiment ${source.id} is ${source.status}, not completed with a final checkpoint` }]);
    return { ref: checkpoint.ref, step: checkpoint.step, epoch: checkpoint.epoch, kind: checkpoint.kind, bytes: checkpoint.sizeBytes };
  }

  /** The job's progress and scheduling facts, when Redis answers (nulls otherwise: reads never wait on Redis). */
  private async jobFacts(id: string): Promise<{ progress: TrainingProgress | null; facts: { state: string; attemptsMade: number; stalledCounter: number } | null }> {
    try {
      // The gate refuses at once while Redis is down; the catch turns that into "no facts".
      return await this.redisGate.call('reading the job', async () => {
        const job = await this.queue.getJob(id);
        if (!job) return { progress: null, facts: null };
        const parsed = trainingProgressSchema.safeParse(job.progress);
        const state = await job.getState();
        const count = (n: unknown) => (typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 0);
        return { progress: parsed.success ? parsed.data : null, facts: { state: String(state), attemptsMade: count(job.attemptsMade), stalledCounter: count(job.stalledCounter) } };
      });
    } catch {
      return { progress: null, facts: null };
    }
  }

  private async findOrFail(id: string): Promise<ExperimentEntity> {
    const experiment = UUID.test(id) ? await this.repository.findById(id) : null;
    if (!experiment) throw new NotFoundException(`experiment ${id} not found`);
    return experiment;
  }
}
