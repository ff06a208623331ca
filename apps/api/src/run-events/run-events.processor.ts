import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, Optional } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { formatIssues, parseWith, QueueName, runEventSchema } from '@tfleet/contracts';
import { RunEventFeed } from '../live/run-event-feed';
import { SweepsService } from '../sweeps/sweeps.service';
import { RunEventsService } from './run-events.service';

/** Consumes workers' run events one at a time, in order (the API is the only DB writer). */
@Processor(QueueName.RunEvents, { concurrency: 1 })
export class RunEventsProcessor extends WorkerHost {
  private readonly logger = new Logger(RunEventsProcessor.name);

  constructor(
    private readonly runEvents: RunEventsService,
    private readonly sweeps: SweepsService,
    @Optional() private readonly liveFeed?: RunEventFeed,
  ) {
    super();
  }

  async process(job: Job<unknown>): Promise<void> {
    const parsed = parseWith(runEventSchema, job.data);
    if (!parsed.ok) throw new UnrecoverableError(`invalid run event: ${formatIssues(parsed.issues)}`);
    const outcome = await this.runEvents.apply(parsed.value);
    if (outcome === 'applied') this.liveFeed?.applied(parsed.value);
    // A sweep's trial: early stopping at a rung, stopWhen, and the next trial when one ends.
    if (outcome === 'applied') await this.sweeps.afterRunEvent(parsed.value);
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.error(`run event ${job?.id ?? '?'} not applied: ${error.message}`);
  }
}
