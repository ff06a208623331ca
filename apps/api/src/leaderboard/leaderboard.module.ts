import { Module } from '@nestjs/common';
import { LeaderboardController } from './leaderboard.controller';
import { LeaderboardService } from './leaderboard.service';

/** Rankings of completed experiments. */
@Module({ controllers: [LeaderboardController], providers: [LeaderboardService] })
export class LeaderboardModule {}
