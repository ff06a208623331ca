export * from './multi-head-attention';
export * from './position-embedding';
