import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, type OnApplicationBootstrap } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import { formatIssues, parseWith, QueueName, trainExperimentJobDataSchema } from '@tfleet/contracts';
import type { TfleetConfig } from '@tfleet/config';
import { CONFIG } from './tokens';
import { type TrainOutcome, TrainingRunService } from './training-run.service';

/** Thin adapter: re-validate the job read back from Redis, then train. */
@Processor(QueueName.Experiments, { lockDuration: 60_000, stalledInterval: 30_000, maxStalledCount: 2 })
export class ExperimentsProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly training: TrainingRunService,
    @Inject(CONFIG) private readonly config: TfleetConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.workerConcurrency;
  }

  async process(job: Job<unknown>): Promise<{ outcome: TrainOutcome }> {
    const parsed = parseWith(trainExperimentJobDataSchema, job.data);
    if (!parsed.ok) throw new UnrecoverableError(`invalid job data: ${formatIssues(parsed.issues)}`);
    return { outcome: await this.training.run(job as Job<typeof parsed.value>, parsed.value) };
  }
}
