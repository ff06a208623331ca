/** Why a data-parallel group failed; the same codes are stored in shared memory by thread ranks. */
export enum GroupFailureReason {
  /** A rank threw (or its thread / process died with an error). */
  Threw = 1,
  /** A rank did not reach a collective operation within the barrier timeout. */
  Timeout = 2,
  /** Ranks called different collective operations, or with different lengths. */
  Mismatch = 3,
  /** A rank broke the protocol (bad message or report), or the parent gave up on it. */
  Protocol = 4,
  /** A rank process exited before finishing. */
  Exited = 5,
}

const REASON_LABELS: Record<GroupFailureReason, string> = {
  [GroupFailureReason.Threw]: 'threw',
  [GroupFailureReason.Timeout]: 'timeout',
  [GroupFailureReason.Mismatch]: 'mismatch',
  [GroupFailureReason.Protocol]: 'protocol',
  [GroupFailureReason.Exited]: 'exited',
};

export type GroupFailureLabel = 'threw' | 'timeout' | 'mismatch' | 'protocol' | 'exited';

export function failureLabel(reason: GroupFailureReason): GroupFailureLabel {
  return REASON_LABELS[reason] as GroupFailureLabel;
}

/**
 * Thrown inside a rank when another rank (or the parent) has already failed the group: the
 * rank stops at its next collective call instead of waiting forever. The root cause is
 * reported by {@link RankGroupError} on the parent side.
 */
export class CollectiveAbortedError extends Error {
  override readonly name = 'CollectiveAbortedError';
}

/** Thrown inside a rank that detected the failure itself (a timeout or a mismatch). */
export class CollectiveFailureError extends Error {
  override readonly name = 'CollectiveFailureError';
  constructor(
    message: string,
    /** The rank at fault (the one that did not arrive, or that disagreed). */
    readonly culprit: number,
    readonly reason: GroupFailureReason,
  ) {
    super(message);
  }
}

/**
 * The error a {@link RankGroup} run rejects with: it names the rank at fault and why, and
 * keeps the rank's own error as `cause`.
 */
export class RankGroupError extends Error {
  override readonly name = 'RankGroupError';
  constructor(
    message: string,
    /** The rank at fault. */
    readonly rank: number,
    readonly reason: GroupFailureLabel,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The message of anything thrown, for errors that crossed a thread or process boundary. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') {
    return error.message;
  }
  return String(error);
}
