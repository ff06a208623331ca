import { join } from 'node:path';

/** The compiled prediction thread entry, for the API's pool. Importing this loads no TensorFlow.js. */
export const PREDICT_THREAD_ENTRY = join(__dirname, 'predict.thread.js');
