export * from './tfleet-logger';
