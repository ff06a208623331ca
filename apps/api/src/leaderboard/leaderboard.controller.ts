import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { DATASET_NAMES, MODEL_FAMILIES } from '@tfleet/contracts';
import { zodPipe } from '../common/zod-validation.pipe';
import { LeaderboardService } from './leaderboard.service';

const leaderboardQuerySchema = z.strictObject({
  dataset: z.enum(DATASET_NAMES),
  metric: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]*$/)
    .default('accuracy'),
  order: z.enum(['asc', 'desc']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(20),
  family: z.enum(MODEL_FAMILIES).optional(),
});

@ApiTags('leaderboard')
@ApiBearerAuth()
@Controller('leaderboard')
export class LeaderboardController {
  constructor(private readonly leaderboard: LeaderboardService) {}

  @Get()
  @ApiOperation({ summary: 'Completed experiments on a data set ranked by a final test metric' })
  leaderboardOf(@Query(zodPipe('query', leaderboardQuerySchema)) query: z.output<typeof leaderboardQuerySchema>) {
    return this.leaderboard.rank(query);
  }
}
