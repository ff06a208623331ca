import { Module } from '@nestjs/common';
import { QueueBoard } from './queue-board';

/** The queue board's queues and router; main.ts mounts the router at /queues behind the key. */
@Module({ providers: [QueueBoard], exports: [QueueBoard] })
export class QueueBoardModule {}
