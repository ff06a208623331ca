/**
 * Injection token of the validated TfleetConfig, shared by the API and the worker. A plain
 * Symbol: libs/config knows nothing of Nest; each app provides the value under this token.
 */
export const CONFIG = Symbol('TFLEET_CONFIG');
