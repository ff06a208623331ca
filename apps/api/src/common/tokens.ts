/** Injection token of the resolved API key. (The config's token, CONFIG, is @tfleet/config's.) */
export const API_KEY = Symbol('TFLEET_API_KEY');
