export * from './multi-head-attention';
export * from './position-embedding';
export * from './fused-recurrent';
export * from './call-memo';
export * from './memo-bidirectional';
export * from './fused-layer-norm';
export * from './seeded-dropout';
export * from './fused-simple-rnn';
