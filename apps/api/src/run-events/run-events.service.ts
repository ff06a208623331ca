import { Injectable, Logger } from '@nestjs/common';
import { CheckpointStore } from '@tfleet/artifacts';
import { keepCheckpointsSchema, type RunEvent } from '@tfleet/contracts';
import { type ExperimentEntity, ExperimentsRepository, TERMINAL_STATUSES } from '@tfleet/persistence';
import { JobSignals } from '../common/job-signals';
import { ResumePoints } from '../common/resume-points';

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
 *
 * Checkpoints arrive as references to files the workers wrote to the checkpoint store. The API
 * records them, prunes by the spec's keepCheckpoints (deleting the pruned files), and points the
 * experiment's resume key at the latest one, where a retried attempt will start.
 */
@Injectable()
export class RunEventsService {
  private readonly logger = new Logger(RunEventsService.name);

  constructor(
    private readonly repository: ExperimentsRepository,
    private readonly signals: JobSignals,
    private readonly store: CheckpointStore,
    private readonly resumePoints: ResumePoints,
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
      // The file of a stale attempt's checkpoint would never be pruned; a redelivered one that is recorded stays.
      if (event.type === 'checkpoint' && !(await this.repository.hasCheckpointRef(event.experimentId, event.checkpoint.ref))) await this.deleteFiles([event.checkpoint.ref]);
      return 'dropped';
    }
    const at = new Date(event.at);
    switch (event.type) {
      case 'started': {
        const resumedFromStep = event.resumedFromStep ?? null;
        const result = await this.repository.markRunning(event.experimentId, event.attempt, event.runtime, event.paramCount, at, resumedFromStep);
        if (result.discardedPoints > 0) {
          const from = resumedFromStep === null ? 'starts over' : `resumes from step ${resumedFromStep}`;
          this.logger.log(`experiment ${event.experimentId} attempt ${event.attempt} ${from}: ${result.discardedPoints} metric points of earlier attempts removed`);
        }
        if (!result.started) return 'dropped';
        await this.deleteFiles(result.discardedCheckpoints);
        if (result.discardedCheckpoints.length > 0) await this.resumePoints.publish(event.experimentId);
        return 'applied';
      }
      case 'epoch':
        await this.repository.recordMetrics(event.experimentId, event.attempt, event.epoch, event.step, { train: event.train, validation: event.validation }, at);
        return 'applied';
      case 'checkpoint': {
        const keep = experiment.spec.training.keepCheckpoints ?? keepCheckpointsSchema.parse({});
        const saved = await this.repository.saveCheckpoint(event.experimentId, event.checkpoint, at, keep);
        // A second file for a checkpoint already recorded (a retried step) is not kept.
        await this.deleteFiles([...saved.pruned, ...(saved.storedRef === event.checkpoint.ref ? [] : [event.checkpoint.ref])]);
        await this.resumePoints.publish(event.experimentId);
        return 'applied';
      }
      case 'completed': {
        const { test, baselines, steps, epochs, samplesPerSecond, wallTimeMs, scalingEfficiency } = event;
        const done = await this.repository.complete(event.experimentId, event.attempt, { test, baselines, steps, epochs, samplesPerSecond, wallTimeMs, scalingEfficiency }, at);
        if (done) await this.resumePoints.clear(event.experimentId);
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
    // A run cancelled while it trained saves a checkpoint at the step it stopped: POST /resume continues from it.
    if (event.type === 'checkpoint' && experiment.status === 'cancelled' && event.attempt === experiment.attempt && event.checkpoint.kind !== 'final') return null;
    // An epoch of the attempt that completed, applied late: its run-events job was in flight in an
    // API that died, and came back from BullMQ's stalled check after `completed`. Still that
    // attempt's history (points are upserts).
    if (event.type === 'epoch' && experiment.status === 'completed' && event.attempt === experiment.attempt) return null;
    if (TERMINAL_STATUSES.includes(experiment.status)) return `the experiment is already ${experiment.status}`;
    if (event.attempt < experiment.attempt) return `attempt ${experiment.attempt} has started since`;
    // Queued again after attempt N (POST /resume, a requeue): N's late events (its `cancelled`
    // still in the run-events queue) must not end the new run; attempt N+1 reports as N+1.
    if (experiment.status === 'queued' && experiment.attempt > 0 && event.attempt <= experiment.attempt) return `the experiment was queued again after attempt ${event.attempt}`;
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

  /** Files of checkpoints no longer recorded; a file that cannot be removed is logged, never fatal. */
  private async deleteFiles(refs: readonly string[]): Promise<void> {
    for (const ref of refs) {
      await this.store.delete(ref).catch((error: unknown) => this.logger.warn(`checkpoint file ${ref} not deleted: ${error instanceof Error ? error.message : String(error)}`));
    }
  }

  private async stopJob(experimentId: string, why: string): Promise<void> {
    this.logger.warn(`telling the worker of job ${experimentId} to stop: ${why}`);
    await this.signals.stop(experimentId);
  }
}
