import { Injectable, Logger } from '@nestjs/common';
import type { RunEvent } from '@tfleet/contracts';
import { type ExperimentEntity, ExperimentsRepository, TERMINAL_STATUSES } from '@tfleet/persistence';
import { JobSignals } from '../common/job-signals';

/** What became of one run event. */
export type RunEventOutcome = 'applied' | 'dropped';

/**
 * Applies workers' run events to the database.
 *
 * Every execution of a job is its own attempt, numbered by the workers (a stall counts).
 * The rules:
 * - `started` of a newer attempt makes it the experiment's attempt: its worker, times and a
 *   history of its own (the repository drops earlier attempts' points in the same transaction);
 * - `epoch`, `checkpoint`, `completed` and `diverged` count only from the current attempt of a running
 *   experiment; anything from an older attempt, or for a finished experiment, is dropped;
 * - `failed` and `cancelled` count from the current or a newer attempt (a run can fail or be
 *   cancelled before it starts);
 * - a `started` for an experiment that does not exist or has finished means a job that must
 *   not train (an orphan, a duplicate): its worker is told to stop.
 * Redelivered events rewrite the same rows (upserts), so applying one twice changes nothing.
 */
@Injectable()
export class RunEventsService {
  private readonly logger = new Logger(RunEventsService.name);

  constructor(
    private readonly repository: ExperimentsRepository,
    private readonly signals: JobSignals,
  ) {}

  async apply(event: RunEvent): Promise<RunEventOutcome> {
    const experiment = await this.repository.findById(event.experimentId);
    if (!experiment) {
      this.logger.warn(`run event ${event.type} for unknown experiment ${event.experimentId}: dropped`);
      if (event.type === 'started') await this.stopJob(event.experimentId, 'it has no experiment');
      return 'dropped';
    }
    const drop = this.reasonToDrop(event, experiment);
    if (drop !== null) {
      this.logger.warn(`${event.type} event of ${event.experimentId} attempt ${event.attempt} dropped: ${drop}`);
      if (event.type === 'started' && TERMINAL_STATUSES.includes(experiment.status)) await this.stopJob(event.experimentId, `the experiment is ${experiment.status}`);
      return 'dropped';
    }
    const at = new Date(event.at);
    switch (event.type) {
      case 'started': {
        const result = await this.repository.markRunning(event.experimentId, event.attempt, event.runtime, event.paramCount, at);
        if (result.discardedPoints > 0) this.logger.log(`experiment ${event.experimentId} attempt ${event.attempt} starts over: ${result.discardedPoints} metric points of earlier attempts removed`);
        return result.started ? 'applied' : 'dropped';
      }
      case 'epoch':
        await this.repository.recordMetrics(event.experimentId, event.attempt, event.epoch, event.step, { train: event.train, validation: event.validation }, at);
        return 'applied';
      case 'checkpoint':
        await this.repository.saveCheckpoint(event.experimentId, event.checkpoint, at);
        return 'applied';
      case 'completed': {
        const { test, baselines, steps, epochs, samplesPerSecond, wallTimeMs, scalingEfficiency } = event;
        const done = await this.repository.complete(event.experimentId, event.attempt, { test, baselines, steps, epochs, samplesPerSecond, wallTimeMs, scalingEfficiency }, at);
        return done ? 'applied' : 'dropped';
      }
      case 'failed':
        if (event.willRetry) await this.repository.recordError(event.experimentId, `attempt ${event.attempt} failed, retrying: ${event.error}`);
        else await this.repository.finish(event.experimentId, 'failed', event.error, at);
        return 'applied';
      case 'cancelled':
        await this.repository.finish(event.experimentId, 'cancelled', null, at);
        return 'applied';
      case 'diverged':
        return (await this.repository.diverge(event.experimentId, event.attempt, event.step, event.loss, event.lastFiniteLoss, at)) ? 'applied' : 'dropped';
    }
  }

  private reasonToDrop(event: RunEvent, experiment: ExperimentEntity): string | null {
    if (TERMINAL_STATUSES.includes(experiment.status)) return `the experiment is already ${experiment.status}`;
    if (event.attempt < experiment.attempt) return `attempt ${experiment.attempt} has started since`;
    switch (event.type) {
      case 'started':
      case 'failed':
      case 'cancelled':
        return null;
      case 'epoch':
      case 'checkpoint':
      case 'completed':
      case 'diverged':
        return event.attempt === experiment.attempt && experiment.status === 'running' ? null : `attempt ${event.attempt} is not the running attempt`;
    }
  }

  private async stopJob(experimentId: string, why: string): Promise<void> {
    this.logger.warn(`telling the worker of job ${experimentId} to stop: ${why}`);
    await this.signals.stop(experimentId);
  }
}
