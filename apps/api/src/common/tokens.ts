/** Injection token of the validated TfleetConfig. */
export const CONFIG = Symbol('TFLEET_CONFIG');
/** Injection token of the resolved API key. */
export const API_KEY = Symbol('TFLEET_API_KEY');
