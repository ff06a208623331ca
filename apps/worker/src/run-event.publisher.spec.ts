import type { Queue } from 'bullmq';
import type { RunEvent } from '@tfleet/contracts';
import { RunEventStream } from './run-event.publisher';

/** A queue that records the job ids it is given. */
function recordingQueue(): { queue: Queue<RunEvent>; ids: string[] } {
  const ids: string[] = [];
  const queue = { add: async (_name: string, _data: RunEvent, opts: { jobId: string }) => void ids.push(opts.jobId) } as unknown as Queue<RunEvent>;
  return { queue, ids };
}

describe('RunEventStream', () => {
  it('gives each event of a run its own id, and a rerun of the same attempt (after a stall) other ids', async () => {
    const { queue, ids } = recordingQueue();
    const first = new RunEventStream(queue, 'exp', 1);
    await first.send({ type: 'cancelled', step: 0 });
    await first.send({ type: 'cancelled', step: 0 });
    const rerun = new RunEventStream(queue, 'exp', 1);
    await rerun.send({ type: 'cancelled', step: 0 });
    expect(new Set(ids).size).toBe(3);
    expect(ids.every((id) => id.startsWith('exp_1_'))).toBe(true);
  });
});
