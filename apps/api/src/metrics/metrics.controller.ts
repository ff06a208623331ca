import { Controller, Get, Header } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MetricsService } from './metrics.service';

/** Served at /metrics (outside the /api prefix, where scrapers look), behind the API key like every route. */
@ApiTags('operators')
@ApiBearerAuth()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: "Prometheus metrics: BullMQ's queue metrics and tfleet_* (experiments by status, speed of running experiments, workers)" })
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
