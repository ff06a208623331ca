import { Module } from '@nestjs/common';
import { FinalCheckpointReader } from './final-checkpoint.reader';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';
import { PredictionPool } from './prediction-pool';

/** Trained models out of the system: export for tfjs, and predictions off the event loop. */
@Module({
  controllers: [ModelsController],
  providers: [ModelsService, FinalCheckpointReader, PredictionPool],
})
export class ModelsModule {}
