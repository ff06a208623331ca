export * from './decode';
export * from './seq2seq-metrics';
