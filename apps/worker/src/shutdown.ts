import { Inject, Injectable, Logger } from '@nestjs/common';
import { EXPERIMENTS_PROCESSOR } from './tokens';
import { TrainingRunService } from './training-run.service';

/** Taking jobs from the experiments queue; paused without waiting for the active ones. */
export interface JobIntake {
  pause(): Promise<void>;
}

/**
 * The first half of a graceful stop (SIGTERM, SIGINT), before the application closes its
 * Redis connections: take no new job, hand every running one back at its next step boundary
 * with a checkpoint. Only then may `app.close()` run: run events sent after Redis closed were
 * the `Connection is closed` errors of a stop in earlier versions.
 */
@Injectable()
export class WorkerShutdown {
  private readonly logger = new Logger(WorkerShutdown.name);

  constructor(
    @Inject(EXPERIMENTS_PROCESSOR) private readonly intake: JobIntake,
    private readonly training: TrainingRunService,
  ) {}

  async drain(): Promise<void> {
    // Paused without waiting: the active jobs end through the hand-back below.
    await this.intake.pause();
    await this.training.handBackAll();
    this.logger.log('no job in progress: closing');
  }
}
