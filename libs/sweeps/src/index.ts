export * from './sweep-request';
export * from './trials';
export * from './asha';
