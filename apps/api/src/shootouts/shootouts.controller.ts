import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { zodPipe } from '../common/zod-validation.pipe';
import { ShootoutsService } from './shootouts.service';

const shootoutRequestSchema = z.strictObject({
  suite: z.string().min(1).max(64),
  seeds: z.array(z.int().min(0)).min(1).max(20).refine((s) => new Set(s).size === s.length, { message: 'seeds must be distinct' }),
  maxConcurrent: z.int().min(1).max(1_000).optional(),
  only: z.array(z.string().min(1)).min(1).optional(),
  epochs: z.int().min(1).max(1_000).optional(),
});

@ApiTags('shootouts')
@ApiBearerAuth()
@Controller('shootouts')
export class ShootoutsController {
  constructor(private readonly shootouts: ShootoutsService) {}

  @Post()
  @ApiOperation({ summary: "Run a shootout suite on the fleet: its specs as a sweep, once per seed; 201, or 200 when the same shootout was posted before" })
  async create(@Body(zodPipe('shootout', shootoutRequestSchema)) request: z.output<typeof shootoutRequestSchema>, @Res({ passthrough: true }) response: Response) {
    const { id, created } = await this.shootouts.create(request);
    response.status(created ? 201 : 200);
    return this.shootouts.report(id);
  }

  @Get(':id')
  @ApiOperation({ summary: "The suite's table and claim verdicts from the recorded runs (means ± std over seeds), as JSON and markdown" })
  report(@Param('id') id: string) {
    return this.shootouts.report(id);
  }
}
