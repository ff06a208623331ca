import { InitialSchema1764360000000 } from './1764360000000-InitialSchema';
import { MetricAttempt1764950000000 } from './1764950000000-MetricAttempt';

/** Every migration, oldest first. Append only: never edit one that has shipped. */
export const MIGRATIONS = [InitialSchema1764360000000, MetricAttempt1764950000000];
