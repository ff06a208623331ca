import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Observable, Subject, type Subscription } from 'rxjs';
import { formatIssues, parseWith, type RunEvent } from '@tfleet/contracts';
import { ExperimentsRepository } from '@tfleet/persistence';
import { toExperimentView } from '../experiments/experiment.view';
import { etaSeconds, type LiveMessage, queueProgressEventSchema } from './live-messages';
import { RunEventFeed } from './run-event-feed';

/** Most experiments whose last status (and batch size) the feed remembers; the oldest are forgotten first. */
const REMEMBERED = 10_000;

/**
 * One in-process stream of what changes, for every live client: progress from the queue's
 * events, finished epochs from the run events, and an experiment's row whenever its status or
 * attempt changes. Nothing polls: a row is read only when a run event or a job event says the
 * experiment changed, once for all clients, in the order the changes arrived.
 */
@Injectable()
export class LiveFeed implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(LiveFeed.name);
  private readonly subject = new Subject<LiveMessage>();
  readonly messages$: Observable<LiveMessage> = this.subject.asObservable();
  /** `<status>/<attempt>` last sent per experiment, so a repeated job event sends nothing. */
  private readonly lastState = new Map<string, string>();
  private readonly batchSizes = new Map<string, number>();
  /** Reads and sends one change at a time, so clients get changes in the order they happened. */
  private pending: Promise<void> = Promise.resolve();
  private runEvents: Subscription | null = null;
  private invalidProgressLogged = false;

  constructor(
    private readonly repository: ExperimentsRepository,
    private readonly runEventFeed: RunEventFeed,
  ) {}

  onModuleInit(): void {
    this.runEvents = this.runEventFeed.applied$.subscribe((event) => this.runEventApplied(event));
  }

  onModuleDestroy(): void {
    this.runEvents?.unsubscribe();
    this.subject.complete();
  }

  /**
   * Whether any live client listens. With none, job and run events read nothing: every
   * submission's job 'added' event used to read its row back here for nobody (a tenth of a
   * submission's API CPU under bench:load). A client that connects later starts from the
   * current state it fetches, and the next change is compared with the last one sent.
   */
  private get listened(): boolean {
    return this.subject.observed;
  }

  /** A `progress` event of the experiments queue; anything that does not parse is dropped. */
  queueProgress(event: unknown): void {
    if (!this.listened) return;
    const parsed = parseWith(queueProgressEventSchema, event);
    if (!parsed.ok) {
      if (!this.invalidProgressLogged) this.logger.warn(`a progress event that is not training progress was dropped: ${formatIssues(parsed.issues)}`);
      this.invalidProgressLogged = true;
      return;
    }
    const { jobId, data } = parsed.value;
    this.enqueue(async () => {
      const batchSize = await this.batchSize(jobId);
      if (batchSize === null) return;
      this.subject.next({ type: 'progress', data: { experimentId: jobId, ...data, etaSeconds: etaSeconds(data, batchSize) } });
    });
  }

  /** The job of an experiment was added, started, removed or ended: its status may have changed. */
  jobChanged(experimentId: string): void {
    if (!this.listened) return;
    this.enqueue(() => this.sendIfChanged(experimentId));
  }

  private runEventApplied(event: RunEvent): void {
    if (!this.listened) return;
    if (event.type === 'epoch') {
      const { experimentId, attempt, epoch, step, train, validation } = event;
      this.enqueue(async () => this.subject.next({ type: 'epoch', data: { experimentId, attempt, epoch, step, train, validation } }));
      return;
    }
    if (event.type !== 'checkpoint') this.jobChanged(event.experimentId);
  }

  private async sendIfChanged(experimentId: string): Promise<void> {
    const experiment = await this.repository.findById(experimentId);
    if (!experiment) return;
    const state = `${experiment.status}/${experiment.attempt}`;
    if (this.lastState.get(experimentId) === state) return;
    this.remember(this.lastState, experimentId, state);
    this.subject.next({ type: 'experiment', data: toExperimentView(experiment) });
  }

  private async batchSize(experimentId: string): Promise<number | null> {
    const known = this.batchSizes.get(experimentId);
    if (known !== undefined) return known;
    const experiment = await this.repository.findById(experimentId);
    if (!experiment) return null;
    this.remember(this.batchSizes, experimentId, experiment.spec.training.batchSize);
    return experiment.spec.training.batchSize;
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > REMEMBERED) map.delete(map.keys().next().value as string);
  }

  private enqueue(work: () => Promise<void>): void {
    this.pending = this.pending.then(work).catch((error: unknown) => this.logger.warn(`live update not sent: ${error instanceof Error ? error.message : String(error)}`));
  }
}
