import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { zodPipe } from '../common/zod-validation.pipe';
import { CompareService } from './compare.service';

const compareQuerySchema = z.strictObject({
  ids: z
    .string()
    .min(1)
    .transform((text) => text.split(',').map((id) => id.trim()))
    .refine((ids) => ids.every((id) => id.length > 0), 'a comma-separated list of experiment ids, none empty'),
  points: z.coerce.number().int().min(1).max(10_000).default(200),
});

@ApiTags('compare')
@ApiBearerAuth()
@Controller('compare')
export class CompareController {
  constructor(private readonly comparisons: CompareService) {}

  @Get()
  @ApiOperation({ summary: 'Runs side by side: spec differences, final metrics, curves aligned by epoch (downsampled to points=)' })
  compare(@Query(zodPipe('query', compareQuerySchema)) query: z.output<typeof compareQuerySchema>) {
    return this.comparisons.compare(query.ids, query.points);
  }
}
