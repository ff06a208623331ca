import { InitialSchema1764360000000 } from './1764360000000-InitialSchema';

/** Every migration, oldest first. Append only: never edit one that has shipped. */
export const MIGRATIONS = [InitialSchema1764360000000];
