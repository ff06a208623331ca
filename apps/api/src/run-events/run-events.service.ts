import { Injectable, Logger } from '@nestjs/common';
import type { RunEvent } from '@tfleet/contracts';
import { ExperimentsRepository } from '@tfleet/persistence';

/**
 * Applies workers' run events to the database. Events are idempotent (a redelivered one
 * rewrites the same rows) and an event from an attempt older than the one recorded is
 * ignored, so a stalled worker that wakes up cannot overwrite its successor's results.
 */
@Injectable()
export class RunEventsService {
  private readonly logger = new Logger(RunEventsService.name);

  constructor(private readonly repository: ExperimentsRepository) {}

  async apply(event: RunEvent): Promise<void> {
    const experiment = await this.repository.findById(event.experimentId);
    if (!experiment) {
      this.logger.warn(`run event ${event.type} for unknown experiment ${event.experimentId}: dropped`);
      return;
    }
    if (event.attempt < experiment.attempt) {
      this.logger.warn(`stale ${event.type} event from attempt ${event.attempt} of ${event.experimentId} (now ${experiment.attempt}): dropped`);
      return;
    }
    const at = new Date(event.at);
    switch (event.type) {
      case 'started':
        await this.repository.markRunning(event.experimentId, event.attempt, event.runtime, event.paramCount, at);
        return;
      case 'epoch':
        await this.repository.recordMetrics(event.experimentId, event.epoch, event.step, { train: event.train, validation: event.validation }, at);
        return;
      case 'checkpoint':
        await this.repository.saveCheckpoint(event.experimentId, event.checkpoint, at);
        return;
      case 'completed':
        await this.repository.complete(
          event.experimentId,
          {
            test: event.test,
            baselines: event.baselines,
            steps: event.steps,
            epochs: event.epochs,
            samplesPerSecond: event.samplesPerSecond,
            wallTimeMs: event.wallTimeMs,
            scalingEfficiency: event.scalingEfficiency,
          },
          at,
        );
        return;
      case 'failed':
        if (event.willRetry) await this.repository.recordError(event.experimentId, `attempt ${event.attempt} failed, retrying: ${event.error}`);
        else await this.repository.finish(event.experimentId, 'failed', event.error, at);
        return;
      case 'cancelled':
        await this.repository.finish(event.experimentId, 'cancelled', null, at);
        return;
    }
  }
}
