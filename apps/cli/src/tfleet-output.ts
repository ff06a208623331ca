import Table from 'cli-table3';

/** Where a command writes: stdout for results, stderr for progress and notes (so --json output stays clean). */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export const stdio: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Prints a JSON answer as it came from the API, one document, indented. */
export function printJson(output: Output, value: unknown): void {
  output.out(JSON.stringify(value, null, 2));
}

/**
 * A table with a header row; cells are shown as given. No colours, so piped output stays plain.
 * `widths` (with wrapping) keeps columns of prose, such as a claim, readable in a terminal.
 */
export function table(head: string[], rows: (string | number)[][], widths?: number[]): string {
  const t = new Table({ head, style: { head: [], border: [], compact: true }, ...(widths ? { colWidths: widths, wordWrap: true } : {}) });
  t.push(...rows.map((r) => r.map((c) => (typeof c === 'number' ? String(c) : c))));
  return t.toString();
}

/** A metric value with four significant digits; '-' when absent. */
export function num(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (value !== 0 && (Math.abs(value) >= 1e6 || Math.abs(value) < 1e-3)) return value.toExponential(digits - 1);
  return Number(value.toPrecision(digits)).toString();
}

/** 1234567 -> "1,234,567"; '-' when absent. */
export function int(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : Math.round(value).toLocaleString('en-US');
}

/** Seconds as "42s", "3m05s", "1h02m". */
export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** "metric=value, ..." of a metric record; '-' when there is none. */
export function metricList(metrics: Record<string, number> | null | undefined): string {
  if (!metrics || Object.keys(metrics).length === 0) return '-';
  return Object.entries(metrics)
    .map(([k, v]) => `${k}=${num(v)}`)
    .join(', ');
}
