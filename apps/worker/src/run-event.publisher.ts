import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { JobName, QueueName, type RunEvent, type RunEventBody } from '@tfleet/contracts';
import { runEventJobOptions } from '@tfleet/queue';

/** Sends one attempt's run events, numbered in order, to the API through the run-events queue. */
export class RunEventStream {
  private seq = 0;
  private fenced = false;

  constructor(
    private readonly queue: Queue<RunEvent>,
    readonly experimentId: string,
    readonly attempt: number,
  ) {}

  /** Stops the stream for good: an attempt that lost its job's lock must not report for it. */
  fence(): void {
    this.fenced = true;
  }

  async send(body: RunEventBody): Promise<void> {
    if (this.fenced) return;
    const seq = this.seq++;
    const event = { ...body, experimentId: this.experimentId, attempt: this.attempt, seq, at: new Date().toISOString() } as RunEvent;
    // The id makes a resend after a lost reply the same job, not a second event.
    await this.queue.add(JobName.RunEvent, event, runEventJobOptions(`${this.experimentId}_${this.attempt}_${seq}`));
  }
}

@Injectable()
export class RunEventPublisher {
  constructor(@InjectQueue(QueueName.RunEvents) private readonly queue: Queue<RunEvent>) {}

  stream(experimentId: string, attempt: number): RunEventStream {
    return new RunEventStream(this.queue, experimentId, attempt);
  }
}
