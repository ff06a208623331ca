import { Module } from '@nestjs/common';
import { WorkersService } from '../workers/workers.service';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/** GET /metrics. WorkersService is stateless (it reads the registry in Redis), so it is provided here too rather than exported by WorkersModule. */
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, WorkersService],
})
export class MetricsModule {}
