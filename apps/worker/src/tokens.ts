/** Injection token of the validated TfleetConfig. */
export const CONFIG = Symbol('TFLEET_CONFIG');
/** Injection token of the backend this worker resolved at start. */
export const WORKER_BACKEND = Symbol('TFLEET_WORKER_BACKEND');
