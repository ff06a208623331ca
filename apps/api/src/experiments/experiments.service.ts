import { ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type IORedis from 'ioredis';
import {
  type CheckpointPayload,
  DATASET_TASKS,
  type ExperimentSpec,
  JobName,
  QueueName,
  type TrainExperimentJobData,
  trainingProgressSchema,
  type TrainingProgress,
} from '@tfleet/contracts';
import type { TfleetConfig } from '@tfleet/config';
import { type ExperimentEntity, type ExperimentStatus, ExperimentsRepository, TERMINAL_STATUSES } from '@tfleet/persistence';
import { CANCEL_TTL_SECONDS, cancelChannel, cancelKey, experimentJobOptions } from '@tfleet/queue';
import { CONFIG } from '../common/tokens';
import { invalidInput } from '../common/zod-validation.pipe';
import { REDIS } from '../common/redis.provider';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class ExperimentsService {
  private readonly logger = new Logger(ExperimentsService.name);

  constructor(
    private readonly repository: ExperimentsRepository,
    @InjectQueue(QueueName.Experiments) private readonly queue: Queue<TrainExperimentJobData>,
    @Inject(REDIS) private readonly redis: IORedis,
    @Inject(CONFIG) private readonly config: TfleetConfig,
  ) {}

  /** Stores the experiment as queued, then enqueues it; if enqueueing fails nothing is kept. */
  async submit(spec: ExperimentSpec): Promise<ExperimentEntity> {
    const pretrained = await this.pretrainedCheckpoint(spec);
    const id = randomUUID();
    const entity = await this.repository.insertQueued(id, spec);
    try {
      await this.queue.add(JobName.TrainExperiment, { experimentId: id, spec, pretrained }, experimentJobOptions(id, this.config.jobAttempts));
    } catch (error) {
      await this.repository.delete(id);
      throw error;
    }
    return entity;
  }

  async get(id: string): Promise<{ experiment: ExperimentEntity; progress: TrainingProgress | null }> {
    const experiment = await this.findOrFail(id);
    return { experiment, progress: experiment.status === 'running' ? await this.liveProgress(id) : null };
  }

  list(page: number, pageSize: number, status?: ExperimentStatus) {
    return this.repository.list(page, pageSize, status);
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
    await this.redis.set(cancelKey(this.config.queuePrefix, id), '1', 'EX', CANCEL_TTL_SECONDS);
    await this.redis.publish(cancelChannel(this.config.queuePrefix), id);
    const job = await this.queue.getJob(id);
    if (job && ((await job.isWaiting()) || (await job.isDelayed()))) {
      await job.remove().catch((error: unknown) => this.logger.warn(`could not remove job ${id}: ${String(error)}`));
    }
    await this.repository.finish(id, 'cancelled', null, new Date());
    return this.findOrFail(id);
  }

  /**
   * BERT fine-tuning starts from a completed masked-LM pretraining run; its final checkpoint
   * travels with the job because workers never open the database.
   */
  private async pretrainedCheckpoint(spec: ExperimentSpec): Promise<CheckpointPayload | undefined> {
    if (spec.model.family !== 'bert' || spec.model.pretrainedFrom === undefined) return undefined;
    const field = 'model.pretrainedFrom';
    const source = await this.repository.findById(spec.model.pretrainedFrom);
    if (!source) throw invalidInput('experiment spec', [{ field, message: `no experiment ${spec.model.pretrainedFrom}` }]);
    if (source.modelFamily !== 'bert' || DATASET_TASKS[source.spec.dataset.name] !== 'language-modelling') {
      throw invalidInput('experiment spec', [{ field, message: 'must name a bert experiment pretrained on a language-modelling data set (e.g. brown)' }]);
    }
    const checkpoint = source.status === 'completed' ? await this.repository.latestCheckpoint(source.id, 'final') : null;
    if (!checkpoint) throw invalidInput('experiment spec', [{ field, message: `experiment ${source.id} is ${source.status}, not completed with a final checkpoint` }]);
    return {
      step: checkpoint.step,
      epoch: checkpoint.epoch,
      kind: checkpoint.kind,
      model: { modelTopology: checkpoint.modelTopology, weightSpecs: checkpoint.weightSpecs, weightDataBase64: checkpoint.weights.toString('base64') },
      state: checkpoint.state,
    };
  }

  private async liveProgress(id: string): Promise<TrainingProgress | null> {
    const job = await this.queue.getJob(id);
    const parsed = trainingProgressSchema.safeParse(job?.progress);
    return parsed.success ? parsed.data : null;
  }

  private async findOrFail(id: string): Promise<ExperimentEntity> {
    const experiment = UUID.test(id) ? await this.repository.findById(id) : null;
    if (!experiment) throw new NotFoundException(`experiment ${id} not found`);
    return experiment;
  }
}
