/** Redis keys and channels tfleet uses besides BullMQ's own, all under the queue prefix. */
export const cancelKey = (prefix: string, experimentId: string): string => `${prefix}:tfleet:cancel:${experimentId}`;
export const cancelChannel = (prefix: string): string => `${prefix}:tfleet:cancel`;
/** How long a cancel request is remembered for a job that has not started yet. */
export const CANCEL_TTL_SECONDS = 7 * 24 * 3600;
