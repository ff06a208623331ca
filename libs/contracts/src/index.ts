export * from './experiment-spec';
export * from './tasks';
export * from './validation';
export * from './runtime-info';
export * from './queue';
export * from './rank-protocol';
