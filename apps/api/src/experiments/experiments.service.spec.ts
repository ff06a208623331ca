import { BadRequestException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import type { TfleetConfig } from '@tfleet/config';
import { parseExperimentSpec } from '@tfleet/contracts';
import type { ExperimentsQueue } from '../common/experiments-queue.provider';
import type { JobSignals } from '../common/job-signals';
import type { ResumePoints } from '../common/resume-points';
import { RedisGate } from '../common/redis-gate';
import { openRunsFixture, type RunsFixture } from '../testing/runs.fixture';
import { ExperimentsService } from './experiments.service';

interface AddedJob {
  name: string;
  data: { experimentId: string };
  options: { jobId?: string; priority?: number; attempts?: number };
}

/** An in-memory experiments queue: what was added, and a job to read back. */
function fakeQueue(fail = false) {
  const added: AddedJob[] = [];
  const queue = {
    add: async (name: string, data: AddedJob['data'], options: AddedJob['options']) => {
      if (fail) throw new Error('Connection is closed.');
      added.push({ name, data, options });
      return {};
    },
    getJob: async (id: string) =>
      added.some((j) => j.options.jobId === id) ? { progress: { epoch: 1, step: 5 }, attemptsMade: 1, stalledCounter: 2, getState: async () => 'waiting' } : undefined,
  } as unknown as ExperimentsQueue;
  return { queue, added };
}

const readyGate = () => new RedisGate({ status: 'ready' } as never);
const spec = (priority?: number, training: Record<string, unknown> = {}) => {
  const parsed = parseExperimentSpec({ dataset: { name: 'mnist' }, model: { family: 'cnn' }, training: { ...training, ...(priority === undefined ? {} : { priority }) } });
  if (!parsed.ok) throw new Error('spec');
  return parsed.value;
};

describe('ExperimentsService (a real SQLite file, an in-memory queue)', () => {
  let fixture: RunsFixture;

  beforeAll(async () => {
    fixture = await openRunsFixture();
  });

  afterAll(async () => {
    await fixture.close();
  });

  const service = (queue: ExperimentsQueue) => new ExperimentsService(fixture.repository, queue, { jobAttempts: 3 } as TfleetConfig, readyGate(), {} as JobSignals, {} as ResumePoints);

  it('stores the run on its board and enqueues it under its id with the spec priority', async () => {
    const { queue, added } = fakeQueue();
    const stored = await service(queue).submit(spec(7));
    expect(stored.boardKey).toMatch(/^mnist-[0-9a-f]{12}$/);
    expect(added).toEqual([{ name: expect.any(String), data: expect.objectContaining({ experimentId: stored.id }), options: expect.objectContaining({ jobId: stored.id, priority: 7 }) }]);
    const plain = await service(queue).submit(spec());
    expect(added[1]!.options).not.toHaveProperty('priority');
    const { queue: facts, progress } = await service(queue).get(plain.id);
    expect(progress).toBeNull();
    expect(facts).toMatchObject({ state: 'waiting', attempts: 0, failedAttempts: 1, stalls: 2, trainingMs: null, worker: null });
  });

  it('training.maxRestarts sets the job\'s attempts (the first one plus the restarts); without it the deployment\'s TFLEET_JOB_ATTEMPTS', async () => {
    const { queue, added } = fakeQueue();
    await service(queue).submit(spec(undefined, { maxRestarts: 0 }));
    await service(queue).submit(spec(undefined, { maxRestarts: 5 }));
    await service(queue).submit(spec());
    expect(added.map((j) => j.options.attempts)).toEqual([1, 6, 3]);
  });

  it('deletes the row and answers 503 when the job cannot be added', async () => {
    const before = (await fixture.repository.list({ page: 1, pageSize: 100 })).total;
    await expect(service(fakeQueue(true).queue).submit(spec())).rejects.toBeInstanceOf(ServiceUnavailableException);
    expect((await fixture.repository.list({ page: 1, pageSize: 100 })).total).toBe(before);
  });

  it('lists with a filter, and makes a bad filter a 400 and an unknown id a 404', async () => {
    const { queue } = fakeQueue();
    const s = service(queue);
    expect((await s.list({ page: 1, pageSize: 100, filter: 'training.priority = 7' })).items).toHaveLength(1);
    await expect(s.list({ page: 1, pageSize: 10, filter: 'training.priority = ' })).rejects.toBeInstanceOf(BadRequestException);
    await expect(s.get('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundException);
  });
});
