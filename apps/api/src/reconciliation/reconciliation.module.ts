import { Module } from '@nestjs/common';
import { ExperimentsModule } from '../experiments/experiments.module';
import { QueueReconciler } from './queue-reconciler.service';

/** Keeps database rows and queue jobs telling the same story. */
@Module({ imports: [ExperimentsModule], providers: [QueueReconciler] })
export class ReconciliationModule {}
