/** Injection token of the backend this worker resolved at start. (CONFIG is @tfleet/config's.) */
export const WORKER_BACKEND = Symbol('TFLEET_WORKER_BACKEND');
