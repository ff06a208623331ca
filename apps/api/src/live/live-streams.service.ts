import { Inject, Injectable, type MessageEvent } from '@nestjs/common';
import { filter, Observable } from 'rxjs';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import { TERMINAL_STATUSES } from '@tfleet/persistence';
import { toExperimentView } from '../experiments/experiment.view';
import { ExperimentsService } from '../experiments/experiments.service';
import { LiveFeed } from './live-feed.service';
import { type LiveMessage, messageExperimentId } from './live-messages';

/**
 * Server-sent event streams over the live feed. Each stream holds one subscription to the feed
 * and one heartbeat timer, both released when the client goes (Nest unsubscribes on `close`).
 */
@Injectable()
export class LiveStreamsService {
  private open = 0;

  constructor(
    private readonly feed: LiveFeed,
    private readonly experiments: ExperimentsService,
    @Inject(CONFIG) private readonly config: TfleetConfig,
  ) {}

  /** Streams open now (each one a feed subscription and a timer). */
  openStreams(): number {
    return this.open;
  }

  /** Every experiment's changes and progress. */
  list(): Observable<MessageEvent> {
    return this.stream((send) => this.feed.messages$.subscribe((message) => send(message)));
  }

  /**
   * One experiment: a `snapshot` (the experiment as GET /api/experiments/:id shows it), then its
   * progress, epochs and status changes, ending after a terminal status. Unknown id: 404 before
   * the stream starts (the caller awaits this).
   */
  async experiment(id: string): Promise<Observable<MessageEvent>> {
    await this.experiments.get(id);
    return this.stream((send, end, fail) => {
      // Listen first, then read the snapshot: a change in between is held back and sent after it.
      let held: LiveMessage[] | null = [];
      // The status/attempt this client last got: the feed reads no row while nobody listens, so
      // its own "changed?" memory can miss a state this client's snapshot already showed.
      let shown: string | null = null;
      const forward = (message: LiveMessage) => {
        if (message.type === 'experiment') {
          const state = `${message.data.status}/${message.data.attempt}`;
          if (state === shown) return;
          shown = state;
        }
        send(message);
        if (message.type === 'experiment' && TERMINAL_STATUSES.includes(message.data.status)) end();
      };
      const subscription = this.feed.messages$.pipe(filter((m) => messageExperimentId(m) === id)).subscribe((message) => (held ? held.push(message) : forward(message)));
      this.experiments.get(id).then(({ experiment, progress, queue }) => {
        send({ type: 'snapshot', data: toExperimentView(experiment, progress, queue) });
        shown = `${experiment.status}/${experiment.attempt}`;
        if (TERMINAL_STATUSES.includes(experiment.status)) return end();
        const early = held ?? [];
        held = null;
        // A change held back while the snapshot was read goes out now, unless it repeats what
        // the snapshot shows (forward drops a state already shown).
        for (const message of early) forward(message);
      }, fail);
      return subscription;
    });
  }

  private stream(
    start: (send: (message: LiveMessage | { type: 'snapshot'; data: object }) => void, end: () => void, fail: (error: unknown) => void) => { unsubscribe(): void },
  ): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      this.open++;
      const send = (message: { type: string; data: object }) => subscriber.next({ type: message.type, data: message.data });
      const heartbeat = setInterval(() => subscriber.next({ comment: 'heartbeat' }), this.config.sseHeartbeatMs);
      const source = start(send, () => subscriber.complete(), (error) => subscriber.error(error));
      return () => {
        source.unsubscribe();
        clearInterval(heartbeat);
        this.open--;
      };
    });
  }
}
