import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QueueName } from '@tfleet/contracts';
import { SweepsModule } from '../sweeps/sweeps.module';
import { ExperimentFailuresListener } from './experiment-failures.listener';
import { RunEventsProcessor } from './run-events.processor';
import { RunEventsService } from './run-events.service';

/** Workers' run events applied to the database, and jobs that failed without a word. */
@Module({
  imports: [BullModule.registerQueue({ name: QueueName.RunEvents }), SweepsModule],
  providers: [RunEventsService, RunEventsProcessor, ExperimentFailuresListener],
})
export class RunEventsModule {}
