import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { WorkersService } from './workers.service';

@ApiTags('workers')
@ApiBearerAuth()
@Controller()
export class WorkersController {
  constructor(private readonly workers: WorkersService) {}

  @Get('workers')
  @ApiOperation({ summary: 'Live workers, and those lost or stopped in the last hour' })
  async list() {
    return { workers: await this.workers.workers() };
  }

  @Get('queue')
  @ApiOperation({ summary: 'Experiment jobs by state, and whether the queue is paused' })
  queue() {
    return this.workers.queueState();
  }

  @Post('queue/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Pause the queue: running jobs go on, no new job starts' })
  pause() {
    return this.workers.pause();
  }

  @Post('queue/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume the queue' })
  resume() {
    return this.workers.resume();
  }
}
