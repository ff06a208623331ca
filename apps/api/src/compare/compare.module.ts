import { Module } from '@nestjs/common';
import { CompareController } from './compare.controller';
import { CompareService } from './compare.service';

/** Side-by-side comparison of any number of runs. */
@Module({ controllers: [CompareController], providers: [CompareService] })
export class CompareModule {}
