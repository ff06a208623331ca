export * from './claims';
export * from './rows';
export * from './presets';
export * from './runner';
export * from './table';
export * from './fleet';
