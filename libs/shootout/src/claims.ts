import type { ShootoutRow } from './rows';

/**
 * Claims are data: a statement plus checks over the measured rows, so a suite can carry the
 * claims that motivate it and the table can say, with the numbers, whether each one held.
 * Rows are named by their entry label.
 */

/** A number read off one row. */
export type Quantity =
  | { of: 'test'; metric: string }
  /** The validation metric after the last epoch. */
  | { of: 'validation'; metric: string }
  | { of: 'samplesPerSecond' }
  | { of: 'samplesToTarget' }
  /** Training time (evaluation excluded) up to the end of the epoch that reached the target. */
  | { of: 'trainMsToTarget' }
  | { of: 'params' };

export type ClaimCheck =
  /**
   * The row's test metric compared with `fraction` times one of its own baselines, e.g.
   * "test mse at most 0.1 x baselineMse" (low error) or "at least 0.5 x" (near the baseline).
   */
  | {
      kind: 'versus-baseline';
      row: string;
      metric: string;
      /** The final test metric (default), or the validation metric after the last epoch. */
      split?: 'test' | 'validation';
      baseline: string;
      relation: 'at-most' | 'at-least';
      fraction: number;
    }
  /** The row's `quantity` is at most / at least a fixed value. */
  | { kind: 'threshold'; row: string; quantity: Quantity; relation: 'at-most' | 'at-least'; value: number }
  /** The row does better on `quantity` than each of `others` (`better`: which way is better). */
  | { kind: 'beats'; row: string; others: string[]; quantity: Quantity; better: 'higher' | 'lower' };

export interface Claim {
  id: string;
  statement: string;
  /** The claim holds when every check holds. */
  checks: ClaimCheck[];
}

export type VerdictKind = 'held' | 'not held' | 'not measured';

export interface CheckOutcome {
  /** True or false, or null when a number it needs was not measured (failed run, no target reached). */
  holds: boolean | null;
  /** What was compared, with the numbers. */
  evidence: string;
}

export interface ClaimVerdict {
  id: string;
  statement: string;
  verdict: VerdictKind;
  checks: CheckOutcome[];
}

/** A claim is held when all checks hold, not held when any fails, otherwise not measured. */
export function evaluateClaim(claim: Claim, rows: readonly ShootoutRow[]): ClaimVerdict {
  const checks = claim.checks.map((check) => evaluateCheck(check, rows));
  let verdict: VerdictKind = 'held';
  if (checks.some((c) => c.holds === false)) verdict = 'not held';
  else if (checks.some((c) => c.holds === null)) verdict = 'not measured';
  return { id: claim.id, statement: claim.statement, verdict, checks };
}

export function evaluateClaims(claims: readonly Claim[], rows: readonly ShootoutRow[]): ClaimVerdict[] {
  return claims.map((claim) => evaluateClaim(claim, rows));
}

function evaluateCheck(check: ClaimCheck, rows: readonly ShootoutRow[]): CheckOutcome {
  switch (check.kind) {
    case 'versus-baseline':
      return versusBaseline(check, rows);
    case 'threshold':
      return threshold(check, rows);
    case 'beats':
      return beats(check, rows);
  }
}

function versusBaseline(check: Extract<ClaimCheck, { kind: 'versus-baseline' }>, rows: readonly ShootoutRow[]): CheckOutcome {
  const row = rows.find((r) => r.label === check.row);
  const split = check.split ?? 'test';
  const value = row ? readQuantity(row, { of: split, metric: check.metric }) : null;
  const baseline = row?.baselines[check.baseline];
  const sign = check.relation === 'at-most' ? '<=' : '>=';
  const wanted = `${check.row}: ${split} ${check.metric} ${sign} ${check.fraction} x ${check.baseline}`;
  if (!row) return { holds: null, evidence: `${wanted}: no row '${check.row}'` };
  if (row.error !== null) return { holds: null, evidence: `${wanted}: the run failed (${row.error})` };
  if (value === null || baseline === undefined || !Number.isFinite(baseline)) {
    return { holds: null, evidence: `${wanted}: ${value === null ? `no ${split} ${check.metric}` : `no ${check.baseline}`}` };
  }
  const bound = check.fraction * baseline;
  const holds = check.relation === 'at-most' ? value <= bound : value >= bound;
  return { holds, evidence: `${wanted}: ${formatNumber(value)} ${holds ? sign : check.relation === 'at-most' ? '>' : '<'} ${formatNumber(bound)} (${check.baseline} ${formatNumber(baseline)})` };
}

function threshold(check: Extract<ClaimCheck, { kind: 'threshold' }>, rows: readonly ShootoutRow[]): CheckOutcome {
  const sign = check.relation === 'at-most' ? '<=' : '>=';
  const wanted = `${check.row}: ${quantityName(check.quantity)} ${sign} ${formatNumber(check.value)}`;
  const row = rows.find((r) => r.label === check.row);
  if (!row) return { holds: null, evidence: `${wanted}: no row '${check.row}'` };
  if (row.error !== null) return { holds: null, evidence: `${wanted}: the run failed (${row.error})` };
  const value = readQuantity(row, check.quantity);
  if (value === null) return { holds: null, evidence: `${wanted}: not measured` };
  const holds = check.relation === 'at-most' ? value <= check.value : value >= check.value;
  return { holds, evidence: `${wanted}: ${formatNumber(value)}` };
}

function beats(check: Extract<ClaimCheck, { kind: 'beats' }>, rows: readonly ShootoutRow[]): CheckOutcome {
  const name = quantityName(check.quantity);
  const wanted = `${check.row} ${check.better} ${name} than ${check.others.join(', ')}`;
  const labels = [check.row, ...check.others];
  const missing: string[] = [];
  const values = new Map<string, number>();
  for (const label of labels) {
    const row = rows.find((r) => r.label === label);
    if (!row) missing.push(`no row '${label}'`);
    else if (row.error !== null) missing.push(`${label} failed`);
    else {
      const value = readQuantity(row, check.quantity);
      // A run that never reached the target took longer than any run that did.
      if (value === null && reachesTarget(check.quantity)) values.set(label, Number.POSITIVE_INFINITY);
      else if (value === null) missing.push(`${label} has no ${name}`);
      else values.set(label, value);
    }
  }
  if (missing.length > 0) return { holds: null, evidence: `${wanted}: ${missing.join('; ')}` };
  const listed = labels.map((l) => `${l} ${values.get(l) === Number.POSITIVE_INFINITY ? 'never' : formatNumber(values.get(l)!)}`).join(', ');
  const mine = values.get(check.row)!;
  if ([...values.values()].every((v) => v === Number.POSITIVE_INFINITY)) return { holds: null, evidence: `${wanted}: no run reached the target` };
  const holds = check.others.every((o) => (check.better === 'higher' ? mine > values.get(o)! : mine < values.get(o)!));
  return { holds, evidence: `${wanted}: ${listed}` };
}

function reachesTarget(quantity: Quantity): boolean {
  return quantity.of === 'samplesToTarget' || quantity.of === 'trainMsToTarget';
}

function readQuantity(row: ShootoutRow, quantity: Quantity): number | null {
  let value: number | null | undefined;
  switch (quantity.of) {
    case 'test':
      value = row.test[quantity.metric];
      break;
    case 'validation':
      value = row.epochs.at(-1)?.validation[quantity.metric];
      break;
    case 'samplesPerSecond':
      value = row.samplesPerSecond;
      break;
    case 'samplesToTarget':
      value = row.convergence?.samples ?? null;
      break;
    case 'trainMsToTarget':
      value = row.convergence?.trainMs ?? null;
      break;
    case 'params':
      value = row.params;
      break;
  }
  return value === undefined || value === null || !Number.isFinite(value) ? null : value;
}

function quantityName(quantity: Quantity): string {
  switch (quantity.of) {
    case 'test':
    case 'validation':
      return `${quantity.of} ${quantity.metric}`;
    case 'samplesPerSecond':
      return 'training samples/s';
    case 'samplesToTarget':
      return 'samples to target';
    case 'trainMsToTarget':
      return 'training ms to target';
    case 'params':
      return 'parameters';
  }
}

/** Four significant digits, no exponent for the magnitudes the tables show. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 1) return value.toFixed(magnitude >= 100 ? 1 : magnitude >= 10 ? 2 : 3);
  return value.toPrecision(3);
}
