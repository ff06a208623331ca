import { loadConfig } from '@tfleet/config';
import { SilenceWatchdog } from './training-run.service';
import { WorkerVitals } from './worker-vitals';

describe('WorkerVitals', () => {
  it('never recycles without limits, and reports memory and the last run\'s leftover tensors', () => {
    const vitals = new WorkerVitals(loadConfig({}));
    for (let i = 0; i < 50; i++) expect(vitals.jobEnding()).toBe(false);
    expect(vitals.memory()).toMatchObject({ jobsEnded: 50, lastRunTensors: null });
    vitals.recordRankMemory(3, 1_024);
    const memory = vitals.memory();
    expect(memory).toMatchObject({ lastRunTensors: 3, lastRunTensorBytes: 1_024 });
    expect(memory.rssMb).toBeGreaterThan(memory.heapUsedMb / 10);
  });

  it('recycles after TFLEET_WORKER_MAX_JOBS jobs, and tells who waits once the last job has moved on', async () => {
    const vitals = new WorkerVitals(loadConfig({ TFLEET_WORKER_MAX_JOBS: '3' }));
    const due = vitals.whenRecycleDue();
    let settled = false;
    void due.then(() => (settled = true));
    expect([vitals.jobEnding(), vitals.jobEnding()]).toEqual([false, false]);
    vitals.lastJobSettled();
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(vitals.jobEnding()).toBe(true);
    vitals.lastJobSettled();
    await expect(due).resolves.toEqual({ kind: 'jobs', jobs: 3, limit: 3 });
  });

  it('recycles when resident memory is over TFLEET_WORKER_MAX_RSS_MB after a job', () => {
    const vitals = new WorkerVitals(loadConfig({ TFLEET_WORKER_MAX_RSS_MB: '1' }));
    expect(vitals.jobEnding()).toBe(true);
  });
});

describe('SilenceWatchdog', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('is armed by the first report, reset by each, fires once after the timeout of silence, never after stop', () => {
    const fired: number[] = [];
    const watchdog = new SilenceWatchdog(1_000, () => fired.push(Date.now()));
    jest.advanceTimersByTime(5_000);
    expect(fired).toHaveLength(0);
    watchdog.reset();
    jest.advanceTimersByTime(900);
    watchdog.reset();
    jest.advanceTimersByTime(900);
    expect(fired).toHaveLength(0);
    jest.advanceTimersByTime(200);
    expect(fired).toHaveLength(1);
    watchdog.reset();
    jest.advanceTimersByTime(5_000);
    expect(fired).toHaveLength(1);

    const stopped = new SilenceWatchdog(1_000, () => fired.push(0));
    stopped.reset();
    stopped.stop();
    jest.advanceTimersByTime(5_000);
    expect(fired).toHaveLength(1);
  });
});
