export * from './checkpoint-store';
