import { Global, Module } from '@nestjs/common';
import { ExperimentsModule } from '../experiments/experiments.module';
import { ExperimentJobEventsListener } from './experiment-job-events.listener';
import { LiveController } from './live.controller';
import { LiveFeed } from './live-feed.service';
import { LiveStreamsService } from './live-streams.service';
import { RunEventFeed } from './run-event-feed';

/**
 * Live updates over server-sent events, fed by the experiments queue's events and by the run
 * events the API applies. Global so the run-events processor can report to the feed. Imported
 * before ExperimentsModule so `experiments/events` is routed before `experiments/:id`.
 */
@Global()
@Module({
  imports: [ExperimentsModule],
  controllers: [LiveController],
  providers: [RunEventFeed, LiveFeed, LiveStreamsService, ExperimentJobEventsListener],
  exports: [RunEventFeed],
})
export class LiveModule {}
