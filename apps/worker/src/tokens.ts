/** Injection token of the backend this worker resolved at start. (CONFIG is @tfleet/config's.) */
export const WORKER_BACKEND = Symbol('TFLEET_WORKER_BACKEND');
/** The experiments processor with this worker's lock settings (its class is made per config). */
export const EXPERIMENTS_PROCESSOR = Symbol('TFLEET_EXPERIMENTS_PROCESSOR');
