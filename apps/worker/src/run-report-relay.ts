import type { BackendName, RankReport, RunEventBody, RuntimeInfo, TrainingProgress } from '@tfleet/contracts';
import type { RunEventStream } from './run-event.publisher';

export type TrainOutcome = 'completed' | 'cancelled' | 'diverged';

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
      case 'checkpoint':
        return this.send({ type: 'checkpoint', checkpoint: report.checkpoint });
      case 'completed':
        return this.completed(report);
      case 'cancelled':
        this.result = 'cancelled';
        return this.send({ type: 'cancelled', step: report.step });
      case 'diverged':
        this.result = 'diverged';
        this.divergence = report;
        return this.send({ type: 'diverged', step: report.step, loss: report.loss, lastFiniteLoss: report.lastFiniteLoss });
    }
  };

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
    this.send({ type: 'started', runtime: this.sinks.runtimeInfo(report), paramCount: report.paramCount });
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

  private send(body: RunEventBody | (() => Promise<RunEventBody>)): void {
    this.sending = this.sending.then(async () => this.sinks.events.send(typeof body === 'function' ? await body() : body));
  }
}
