import { Module } from '@nestjs/common';
import { SweepsModule } from '../sweeps/sweeps.module';
import { ShootoutsController } from './shootouts.controller';
import { ShootoutsService } from './shootouts.service';

/** Shootout suites run on the fleet as sweeps, reported as `npm run shootout` reports them. */
@Module({
  imports: [SweepsModule],
  controllers: [ShootoutsController],
  providers: [ShootoutsService],
})
export class ShootoutsModule {}
