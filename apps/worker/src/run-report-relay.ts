import type { BackendName, CheckpointPayload, CheckpointPointer, RankReport, RunEventBody, RuntimeInfo, TrainingProgress } from '@tfleet/contracts';
import type { RunEventStream } from './run-event.publisher';

/** `handed-back`: stopped at a step boundary for a shutdown, checkpointed, for another worker to resume. */
export type TrainOutcome = 'completed' | 'cancelled' | 'handed-back' | 'diverged';

/** What ran the ranks, as rank 0 reported it when it was ready. */
export interface RanOn {
  backend: BackendName;
  device: string;
}

/** What the relay needs from the run it serves. */
export interface RunReportSinks {
  /** The attempt's run-event stream (the API's record of the run). */
  events: Pick<RunEventStream, 'send'>;
  /** Live progress (the job's progress in Redis); failures are the sink's to swallow. */
  progress(progress: TrainingProgress): void;
  /** What the run ran on, recorded with `started`. */
  runtimeInfo(ready: Extract<RankReport, { kind: 'ready' }>): RuntimeInfo;
  /** Scaling efficiency for `completed`, computed when it is sent (it may ask Redis). */
  scalingEfficiency(ranOn: RanOn, samplesPerSecond: number): Promise<number | null>;
  /** Writes a checkpoint to the store; the run event carries only what this returns (null: not stored, no event). */
  storeCheckpoint(checkpoint: CheckpointPayload): Promise<CheckpointPointer | null>;
  /** True when the ranks were stopped to hand the job back (a shutdown), not by a cancel. */
  handingBack(): boolean;
  /** The checkpoint step this attempt resumed from (null: fresh), recorded with `started`. */
  resumedFromStep: number | null;
}

/**
 * Turns rank 0's reports into run events, one handler per report kind. Reports arrive as
 * synchronous callbacks from the rank group; the sends are chained so that the API receives
 * them in the order the ranks reported them, and `flushed()` waits for the last one.
 */
export class RunReportRelay {
  private sending: Promise<void> = Promise.resolve();
  private ranOn: RanOn | null = null;
  private result: TrainOutcome | null = null;
  private stoppedAt: number | null = null;
  private lastCheckpoint: CheckpointPointer | null = null;
  private divergence: Extract<RankReport, { kind: 'diverged' }> | null = null;

  constructor(private readonly sinks: RunReportSinks) {}

  /** How the run ended, once rank 0 said so; null while it trains (or if it never said). */
  get outcome(): TrainOutcome | null {
    return this.result;
  }

  readonly onReport = (report: RankReport): void => {
    switch (report.kind) {
      case 'ready':
        return this.ready(report);
      case 'progress':
        return this.sinks.progress(report.progress);
      case 'epoch':
        return this.send({ type: 'epoch', epoch: report.epoch, step: report.step, train: report.train, validation: report.validation, samplesPerSecond: report.samplesPerSecond, wallTimeMs: report.wallTimeMs });
      case 'checkpoint': {
        const payload = report.checkpoint;
        return this.send(async () => {
          const pointer = await this.sinks.storeCheckpoint(payload);
          return pointer === null ? null : { type: 'checkpoint', checkpoint: pointer };
        });
      }
      case 'completed':
        return this.completed(report);
      case 'cancelled':
        // A hand-back is no cancel: the experiment goes on elsewhere from the checkpoint just sent.
        if (this.sinks.handingBack()) {
          this.result = 'handed-back';
          this.stoppedAt = report.step;
          return;
        }
        this.result = 'cancelled';
        return this.send({ type: 'cancelled', step: report.step });
      case 'diverged':
        this.result = 'diverged';
        this.divergence = report;
        return this.send({ type: 'diverged', step: report.step, loss: report.loss, lastFiniteLoss: report.lastFiniteLoss });
    }
  };

  /** The step a hand-back stopped at, and the last checkpoint sent (to wait until the API has it). */
  get handBack(): { step: number | null; checkpoint: CheckpointPointer | null } {
    return { step: this.stoppedAt, checkpoint: this.lastCheckpoint };
  }

  /** Where the loss stopped being finite, once rank 0 said so. */
  get diverged(): Extract<RankReport, { kind: 'diverged' }> | null {
    return this.divergence;
  }

  /** Resolves when every event relayed so far has been sent (or failed to be). */
  flushed(): Promise<void> {
    return this.sending;
  }

  private ready(report: Extract<RankReport, { kind: 'ready' }>): void {
    this.ranOn = { backend: report.backend, device: report.device };
    this.send({ type: 'started', runtime: this.sinks.runtimeInfo(report), paramCount: report.paramCount, resumedFromStep: this.sinks.resumedFromStep });
  }

  private completed(report: Extract<RankReport, { kind: 'completed' }>): void {
    this.result = 'completed';
    const ranOn = this.ranOn;
    this.send(async () => ({
      type: 'completed',
      test: report.test,
      baselines: report.baselines,
      steps: report.steps,
      epochs: report.epochs,
      samplesPerSecond: report.samplesPerSecond,
      wallTimeMs: report.wallTimeMs,
      scalingEfficiency: ranOn ? await this.sinks.scalingEfficiency(ranOn, report.samplesPerSecond) : null,
    }));
  }

  private send(body: RunEventBody | (() => Promise<RunEventBody | null>)): void {
    this.sending = this.sending.then(async () => {
      const event = typeof body === 'function' ? await body() : body;
      if (event === null) return;
      await this.sinks.events.send(event);
      if (event.type === 'checkpoint') this.lastCheckpoint = event.checkpoint;
    });
  }
}
