import { GroupFailureReason } from './collective-errors';
import { type HubFailure, ProcessCollectiveHub } from './process-collective-hub';
import type { CollectiveRequest, ProcessParentMessage } from './rank-messages';

function setup(worldSize: number, barrierTimeoutMs = 60_000) {
  const sent: [number, ProcessParentMessage][] = [];
  const failures: HubFailure[] = [];
  const hub = new ProcessCollectiveHub({
    worldSize,
    barrierTimeoutMs,
    setupTimeoutMs: barrierTimeoutMs,
    send: (rank, message) => sent.push([rank, message]),
    onFailure: (failure) => failures.push(failure),
  });
  return { hub, sent, failures };
}

const allReduce = (seq: number, values: number[]): CollectiveRequest => ({
  type: 'collective',
  op: 'all-reduce',
  seq,
  root: -1,
  length: values.length,
  data: Float32Array.from(values),
});

describe('ProcessCollectiveHub', () => {
  afterEach(() => jest.useRealTimers());

  it('answers every rank with the rank-order sum once all have arrived, with the stop flag', () => {
    const { hub, sent, failures } = setup(3);
    hub.contribute(2, allReduce(1, [100, 0.5]));
    hub.contribute(0, allReduce(1, [1, 0.25]));
    expect(sent).toHaveLength(0);
    hub.requestStop();
    hub.contribute(1, allReduce(1, [10, 0.125]));
    expect(failures).toEqual([]);
    expect(sent.map(([rank]) => rank)).toEqual([0, 1, 2]);
    for (const [, message] of sent) {
      expect(message).toEqual({ type: 'collective-result', seq: 1, data: Float32Array.from([111, 0.875]), stop: true });
    }
  });

  it('sends the root data to the other ranks of a broadcast and nothing back to the root', () => {
    const { hub, sent } = setup(2);
    hub.contribute(1, { type: 'collective', op: 'broadcast', seq: 1, root: 1, length: 2, data: Float32Array.from([3, 4]) });
    hub.contribute(0, { type: 'collective', op: 'broadcast', seq: 1, root: 1, length: 2, data: null });
    expect(sent).toEqual([
      [0, { type: 'collective-result', seq: 1, data: Float32Array.from([3, 4]), stop: false }],
      [1, { type: 'collective-result', seq: 1, data: null, stop: false }],
    ]);
  });

  it.each<[string, (hub: ProcessCollectiveHub) => void, Partial<HubFailure>]>([
    ['an operation out of sequence', (hub) => hub.contribute(0, allReduce(2, [1])), { reason: GroupFailureReason.Protocol, culprit: 0, message: 'rank 0 sent all-reduce #2, expected operation #1' }],
    [
      'the same rank twice',
      (hub) => {
        hub.contribute(1, allReduce(1, [1]));
        hub.contribute(1, allReduce(1, [1]));
      },
      { reason: GroupFailureReason.Protocol, culprit: 1, message: 'rank 1 sent all-reduce #1 twice' },
    ],
    ['data that does not match the length', (hub) => hub.contribute(0, { ...allReduce(1, [1, 2]), length: 3 }), { reason: GroupFailureReason.Protocol, culprit: 0 }],
    [
      'ranks calling different operations',
      (hub) => {
        hub.contribute(1, allReduce(1, [1]));
        hub.contribute(0, { type: 'collective', op: 'broadcast', seq: 1, root: 0, length: 1, data: Float32Array.from([1]) });
      },
      { reason: GroupFailureReason.Mismatch, culprit: 1, message: 'ranks disagree at operation #1: rank 0 called broadcast from rank 0 of 1 floats, rank 1 called all-reduce of 1 floats' },
    ],
  ])('fails the group on %s', (_, act, expected) => {
    const { hub, failures, sent } = setup(3);
    act(hub);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject(expected);
    expect(sent).toHaveLength(0);
  });

  it('names every rank that did not arrive within the timeout, and ignores them afterwards', () => {
    jest.useFakeTimers();
    const { hub, failures, sent } = setup(3, 1_000);
    hub.contribute(1, allReduce(1, [1]));
    jest.advanceTimersByTime(999);
    expect(failures).toHaveLength(0);
    jest.advanceTimersByTime(1);
    expect(failures).toEqual([{ reason: GroupFailureReason.Timeout, culprit: 0, message: 'ranks 0, 2 did not reach all-reduce #1 within 1000 ms' }]);
    hub.contribute(0, allReduce(1, [1]));
    hub.contribute(2, allReduce(1, [1]));
    expect(sent).toHaveLength(0);
    expect(failures).toHaveLength(1);
  });
});
