import { InitialSchema1764360000000 } from './1764360000000-InitialSchema';
import { MetricAttempt1764950000000 } from './1764950000000-MetricAttempt';
import { BoardKey1765000000000 } from './1765000000000-BoardKey';
import { MetricRankingIndex1765100000000 } from './1765100000000-MetricRankingIndex';
import { ConfigKey1765200000000 } from './1765200000000-ConfigKey';
import { MetricPointStatistics1765200000001 } from './1765200000001-MetricPointStatistics';
import { FinalMetricIndex1765200000002 } from './1765200000002-FinalMetricIndex';
import { Sweeps1765300000000 } from './1765300000000-Sweeps';
import { CheckpointRefs1765400000000 } from './1765400000000-CheckpointRefs';
import { RunVerdicts1765500000000 } from './1765500000000-RunVerdicts';
import { ApiKeys1765600000000 } from './1765600000000-ApiKeys';

/** Every migration, oldest first. Append only: never edit one that has shipped. */
export const MIGRATIONS = [
  InitialSchema1764360000000,
  MetricAttempt1764950000000,
  BoardKey1765000000000,
  MetricRankingIndex1765100000000,
  ConfigKey1765200000000,
  MetricPointStatistics1765200000001,
  FinalMetricIndex1765200000002,
  Sweeps1765300000000,
  CheckpointRefs1765400000000,
  RunVerdicts1765500000000,
  ApiKeys1765600000000,
];
