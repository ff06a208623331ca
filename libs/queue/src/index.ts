export * from './redis';
export * from './keys';
export * from './job-options';
