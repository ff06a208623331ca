import type { AshaConfig, StopWhen } from './sweep-request';

/** The epochs at which ASHA compares trials: gracePeriod × reductionFactor^k, below maxEpochs. */
export function rungsOf(config: Pick<AshaConfig, 'gracePeriod' | 'reductionFactor' | 'maxEpochs'>): number[] {
  const rungs: number[] = [];
  for (let epoch = config.gracePeriod; epoch < config.maxEpochs; epoch *= config.reductionFactor) rungs.push(epoch);
  return rungs;
}

export type RungDecision = { action: 'continue' } | { action: 'stop'; rung: number; epoch: number; value: number; cutoff: number };

/**
 * Asynchronous successive halving at one rung. `value` is the trial's metric at the rung's
 * epoch; `recorded` holds every value recorded at that rung so far, the trial's own included.
 * The trial goes on only if it ranks among the best max(1, floor(n / reductionFactor)) of the
 * n trials that reached the rung (ties go on); the first to arrive always goes on, as in ASHA,
 * where promotions never wait for the rung to fill. Not a rung, or no value: go on.
 */
export function ashaDecision(config: AshaConfig, epoch: number, value: number | undefined, recorded: readonly number[]): RungDecision {
  const rungs = rungsOf(config);
  const rung = rungs.indexOf(epoch);
  if (rung < 0 || value === undefined || !Number.isFinite(value)) return { action: 'continue' };
  const values = recorded.filter((v) => Number.isFinite(v));
  const keep = Math.max(1, Math.floor(values.length / config.reductionFactor));
  const sorted = [...values].sort((a, b) => (config.mode === 'min' ? a - b : b - a));
  const cutoff = sorted[Math.min(keep, sorted.length) - 1] ?? value;
  const goesOn = config.mode === 'min' ? value <= cutoff : value >= cutoff;
  return goesOn ? { action: 'continue' } : { action: 'stop', rung, epoch, value, cutoff };
}

/** Whether a value meets a sweep's stopWhen. */
export function meetsStopWhen(stopWhen: StopWhen, value: number | undefined): boolean {
  if (value === undefined || !Number.isFinite(value)) return false;
  return stopWhen.mode === 'min' ? value <= stopWhen.value : value >= stopWhen.value;
}

/** Whether `a` is better than `b` under a mode (undefined loses). */
export function better(mode: 'min' | 'max', a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || !Number.isFinite(a)) return false;
  if (b === undefined || !Number.isFinite(b)) return true;
  return mode === 'min' ? a < b : a > b;
}
