/**
 * The suites, rows, claims and tables without the in-process runner: what the API needs to
 * queue a suite and judge its recorded runs, without loading TensorFlow.js.
 */
export * from './claims';
export * from './rows';
export * from './presets';
export * from './table';
export * from './fleet';
export type { ShootoutResult } from './runner';
