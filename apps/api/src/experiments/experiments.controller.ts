import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { type ExperimentSpec, experimentSpecSchema, parseExperimentSpec } from '@tfleet/contracts';
import { EXPERIMENT_STATUSES } from '@tfleet/persistence';
import { filterParam } from '../common/filter-errors';
import { ParsePipe, zodPipe } from '../common/zod-validation.pipe';
import { toExperimentView, toMetricHistoryView } from './experiment.view';
import { ExperimentsService } from './experiments.service';

const listQuerySchema = z.strictObject({
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
  status: z.enum(EXPERIMENT_STATUSES).optional(),
  filter: filterParam,
});

/** JSON Schema of the spec for the OpenAPI document, generated from the one zod schema. */
const specJsonSchema = z.toJSONSchema(experimentSpecSchema, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown>;

@ApiTags('experiments')
@ApiBearerAuth()
@Controller('experiments')
export class ExperimentsController {
  constructor(private readonly experiments: ExperimentsService) {}

  @Post()
  @ApiOperation({ summary: 'Submit an experiment; it is stored as queued and enqueued' })
  @ApiBody({ schema: specJsonSchema })
  async submit(@Body(new ParsePipe('experiment spec', parseExperimentSpec)) spec: ExperimentSpec) {
    return toExperimentView(await this.experiments.submit(spec));
  }

  @Get()
  @ApiOperation({ summary: 'List experiments, newest first; filter= in the query language (README)' })
  async list(@Query(zodPipe('query', listQuerySchema)) query: z.output<typeof listQuerySchema>) {
    const page = await this.experiments.list(query);
    return { ...page, items: page.items.map((e) => toExperimentView(e)) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One experiment: status, live progress, metrics, error, and what the queue knows (attempts, waiting, training, worker, stalls)' })
  async get(@Param('id') id: string) {
    const { experiment, progress, queue } = await this.experiments.get(id);
    return toExperimentView(experiment, progress, queue);
  }

  @Get(':id/metrics')
  @ApiOperation({ summary: 'Metric history by epoch, and the final test metrics' })
  async metrics(@Param('id') id: string) {
    return toMetricHistoryView(id, await this.experiments.metrics(id));
  }

  @Get(':id/checkpoints')
  @ApiOperation({ summary: 'Stored checkpoints (metadata only)' })
  async checkpoints(@Param('id') id: string) {
    return (await this.experiments.checkpoints(id)).map((c) => ({ ...c, createdAt: c.createdAt.toISOString() }));
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Continue a failed or cancelled experiment from its latest checkpoint (404 unknown, 409 not resumable)' })
  async resume(@Param('id') id: string) {
    return toExperimentView(await this.experiments.resume(id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a queued or running experiment' })
  async cancel(@Param('id') id: string) {
    return toExperimentView(await this.experiments.cancel(id));
  }
}
