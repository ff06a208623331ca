import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { type SweepRequest, sweepRequestSchema } from '@tfleet/sweeps';
import { zodPipe } from '../common/zod-validation.pipe';
import { toSweepSummary, toSweepView } from './sweep.view';
import { SweepsService } from './sweeps.service';

const listQuerySchema = z.strictObject({
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
});

const requestJsonSchema = z.toJSONSchema(sweepRequestSchema, { io: 'input', target: 'openapi-3.0', unrepresentable: 'any' }) as Record<string, unknown>;

@ApiTags('sweeps')
@ApiBearerAuth()
@Controller('sweeps')
export class SweepsController {
  constructor(private readonly sweeps: SweepsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a sweep (grid or random search over spec paths, once per seed); 201, or 200 with the existing sweep when the same content was posted before' })
  @ApiBody({ schema: requestJsonSchema })
  async create(@Body(zodPipe('sweep', sweepRequestSchema)) request: SweepRequest, @Res({ passthrough: true }) response: Response) {
    const { sweep, created } = await this.sweeps.create(request);
    response.status(created ? 201 : 200);
    return this.view(sweep.sweep.id);
  }

  @Get()
  @ApiOperation({ summary: 'Sweeps, newest first' })
  async list(@Query(zodPipe('query', listQuerySchema)) query: z.output<typeof listQuerySchema>) {
    const page = await this.sweeps.list(query.page, query.pageSize);
    return { ...page, items: page.items.map((s) => toSweepSummary(s, s.request as unknown as SweepRequest)) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'A sweep: its trials (status, epochs, metric, why stopped), counts, epochs spent, the best completed trial' })
  view(@Param('id') id: string) {
    return this.sweeps.get(id).then(toSweepView);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a running sweep: waiting trials are cancelled, running ones stop (409 if it has ended)' })
  async cancel(@Param('id') id: string) {
    await this.sweeps.cancel(id);
    return this.view(id);
  }

  @Post(':id/rerun-failed')
  @HttpCode(200)
  @ApiOperation({ summary: 'Queue the failed and cancelled trials again (same ids); the others are left alone' })
  async rerunFailed(@Param('id') id: string) {
    const { requeued } = await this.sweeps.rerunFailed(id);
    return { requeued, sweep: await this.view(id) };
  }
}
