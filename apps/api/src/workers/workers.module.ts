import { Module } from '@nestjs/common';
import { WorkersController } from './workers.controller';
import { WorkersService } from './workers.service';

/** Workers' heartbeats and the experiments queue's state and controls. */
@Module({ controllers: [WorkersController], providers: [WorkersService] })
export class WorkersModule {}
