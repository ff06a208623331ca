import { Subject } from 'rxjs';
import type { RunEvent } from '@tfleet/contracts';
import type { ExperimentEntity, ExperimentsRepository } from '@tfleet/persistence';
import { LiveFeed } from './live-feed.service';
import type { LiveMessage } from './live-messages';
import type { RunEventFeed } from './run-event-feed';

/** A repository stand-in that counts row reads (the feed reads nothing else). */
function countingRepository(): { repository: ExperimentsRepository; reads: string[] } {
  const reads: string[] = [];
  const row = { id: 'e1', status: 'queued', attempt: 0, spec: { training: { batchSize: 32 } }, createdAt: new Date(), startedAt: null, finishedAt: null } as unknown as ExperimentEntity;
  const repository = { findById: async (id: string) => (reads.push(id), row) } as unknown as ExperimentsRepository;
  return { repository, reads };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('LiveFeed', () => {
  it('reads no row and sends nothing while no live client listens, and reads once a client does', async () => {
    const { repository, reads } = countingRepository();
    const applied$ = new Subject<RunEvent>();
    const feed = new LiveFeed(repository, { applied$ } as unknown as RunEventFeed);
    feed.onModuleInit();
    feed.jobChanged('e1');
    feed.queueProgress({ jobId: 'e1', data: {} });
    applied$.next({ type: 'started', experimentId: 'e1', attempt: 1, seq: 1, at: new Date().toISOString() } as unknown as RunEvent);
    await settle();
    expect(reads).toEqual([]);

    const received: LiveMessage[] = [];
    const subscription = feed.messages$.subscribe((m) => received.push(m));
    feed.jobChanged('e1');
    await settle();
    expect(reads).toEqual(['e1']);
    expect(received.map((m) => m.type)).toEqual(['experiment']);
    subscription.unsubscribe();
    feed.jobChanged('e1');
    await settle();
    expect(reads).toEqual(['e1']);
    feed.onModuleDestroy();
  });
});
