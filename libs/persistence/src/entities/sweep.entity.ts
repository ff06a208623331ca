export const SWEEP_STATUSES = ['running', 'completed', 'cancelled'] as const;
export type SweepStatus = (typeof SWEEP_STATUSES)[number];

/** Why a trial was stopped early: the ASHA rung (0-based), its epoch, the trial's value and the rung's cutoff. */
export interface TrialStop {
  rung: number;
  epoch: number;
  metric: string;
  value: number;
  cutoff: number;
}

/** The trial whose value met the sweep's stopWhen, and the value. */
export interface SweepStopReason {
  trialId: string;
  metric: string;
  value: number;
}

/** How long one epoch of a trial trained (shootouts: time and samples to a target). */
export interface EpochTime {
  epoch: number;
  step: number;
  wallTimeMs: number;
  samplesPerSecond: number;
}

/** A row of `sweeps`: a search over experiment specs; its trials are experiments with its `sweepId`. */
export class SweepEntity {
  id!: string;
  /** SHA-256 of the request's canonical JSON: the same content is the same sweep. */
  key!: string;
  name!: string | null;
  /** 'sweep' or 'shootout' (a suite run as a sweep). */
  kind!: string;
  /** The request as validated (defaults filled in); shootouts also carry their suite. */
  request!: Record<string, unknown>;
  status!: SweepStatus;
  /** Trials stopped by early stopping, by trial id. */
  stops!: Record<string, TrialStop>;
  stoppedBy!: SweepStopReason | null;
  /** Shootouts only: each trial's epoch times, by trial id (run events carry them; metric rows do not). */
  epochTimes!: Record<string, EpochTime[]>;
  createdAt!: Date;
  finishedAt!: Date | null;
}
