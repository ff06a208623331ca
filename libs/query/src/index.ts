export * from './ast';
export * from './errors';
export { tokenize, type Token, KEYWORDS, type Keyword } from './tokenizer';
export * from './parser';
export * from './compiler';
export * from './tfleet-fields';
export * from './group-stats';
