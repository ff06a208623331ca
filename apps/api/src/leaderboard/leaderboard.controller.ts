import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { zodPipe } from '../common/zod-validation.pipe';
import { boardsQuerySchema, type LeaderboardQuery, leaderboardQuerySchema } from './leaderboard.query';
import { LeaderboardService } from './leaderboard.service';

@ApiTags('leaderboard')
@ApiBearerAuth()
@Controller()
export class LeaderboardController {
  constructor(private readonly leaderboard: LeaderboardService) {}

  @Get('leaderboard')
  @ApiOperation({ summary: "Completed experiments on one board (the data set's default, or board=) ranked by a metric; filter=, aggregate=best, groupBy= with aggregate=mean" })
  leaderboardOf(@Query(zodPipe('query', leaderboardQuerySchema)) query: LeaderboardQuery) {
    return this.leaderboard.rank(query);
  }

  @Get('boards')
  @ApiOperation({ summary: 'The boards of a data set: key, canonical data set options, completed experiments, metrics present' })
  async boards(@Query(zodPipe('query', boardsQuerySchema)) query: z.output<typeof boardsQuerySchema>) {
    return { dataset: query.dataset, boards: await this.leaderboard.boards(query.dataset) };
  }
}
