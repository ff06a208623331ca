import { mergeExpositions } from './exposition';

describe('mergeExpositions', () => {
  it('declares a family shared by two queues once, with both queues\' samples under it', () => {
    const queue = (name: string, n: number) => `# HELP bullmq_job_count Number of jobs\n# TYPE bullmq_job_count gauge\nbullmq_job_count{queue="${name}", state="active"} ${n}`;
    const merged = mergeExpositions([queue('experiments', 2), queue('run-events', 0), '# HELP tfleet_workers Workers\n# TYPE tfleet_workers gauge\ntfleet_workers{state="live"} 1\n']);
    expect(merged).toBe(
      [
        '# HELP bullmq_job_count Number of jobs',
        '# TYPE bullmq_job_count gauge',
        'bullmq_job_count{queue="experiments", state="active"} 2',
        'bullmq_job_count{queue="run-events", state="active"} 0',
        '# HELP tfleet_workers Workers',
        '# TYPE tfleet_workers gauge',
        'tfleet_workers{state="live"} 1',
        '',
      ].join('\n'),
    );
  });
});
