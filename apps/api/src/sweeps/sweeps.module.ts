import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { SweepsRepository } from '@tfleet/persistence';
import { ExperimentsModule } from '../experiments/experiments.module';
import { SweepsController } from './sweeps.controller';
import { SweepsService } from './sweeps.service';

/** Sweeps: searches over experiment specs, scheduled across the fleet, with early stopping. */
@Module({
  imports: [ExperimentsModule],
  controllers: [SweepsController],
  providers: [SweepsService, { provide: SweepsRepository, inject: [DataSource], useFactory: (ds: DataSource) => new SweepsRepository(ds) }],
  exports: [SweepsService],
})
export class SweepsModule {}
