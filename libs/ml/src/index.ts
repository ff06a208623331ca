export * from './data/rng';
export * from './data/dataset';
export * from './parallel/collective';
