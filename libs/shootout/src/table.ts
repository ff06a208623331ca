import { formatNumber } from './claims';
import type { ShootoutResult } from './runner';
import type { ShootoutRow } from './rows';

const VERDICT_MARK = { held: 'HELD', 'not held': 'NOT HELD', 'not measured': 'NOT MEASURED' } as const;

/** Seconds with one decimal under a minute, else minutes and seconds. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
}

function cell(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : formatNumber(value);
}

function convergenceCell(row: ShootoutRow): string {
  if (row.error !== null) return 'n/a';
  const c = row.convergence;
  if (!c) return `not reached (${row.epochs.length} epoch${row.epochs.length === 1 ? '' : 's'})`;
  return `epoch ${c.epoch}, step ${formatNumber(c.step)}, ${formatNumber(c.samples)} samples, ${formatDuration(c.trainMs)}`;
}

/** Escapes the one character that breaks a markdown table cell. */
function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/**
 * The comparison as markdown: one row per model, best first by the suite's metric (failed
 * runs last), then each claim with its verdict and the numbers behind it.
 */
export function renderMarkdown(result: ShootoutResult): string {
  const { metric, target } = result;
  const lines: string[] = [];
  lines.push(`## Shootout: ${result.suite}`, '', result.description, '');
  const env = result.environment;
  lines.push(
    `Ran ${result.startedAt} on ${env.backend} (${env.device}), Node ${env.node}${env.cpus > 0 ? `, ${env.cpus} CPUs` : ''}${env.workers ? `, on ${env.workers.length} worker(s) (${env.workers.join(', ')})` : ''}; total wall time ${formatDuration(result.wallMs)}.`,
    `Target for convergence: validation ${target.metric} ${target.goal === 'at-most' ? '<=' : '>='} ${formatNumber(target.value)}.`,
    '',
  );
  const baselineHeader = metric.baseline ? ` | ${metric.baseline}` : '';
  lines.push(`| model | family | params | test ${metric.name}${baselineHeader} | reached target | train samples/s | train time | wall time |`);
  lines.push(`|---|---|---:|---:|${metric.baseline ? '---:|' : ''}---|---:|---:|---:|`);
  for (const row of sortRows(result.rows, metric)) {
    const baseline = metric.baseline ? ` | ${cell(row.baselines[metric.baseline])}` : '';
    const value = row.error !== null ? `failed: ${escapeCell(row.error)}` : cell(row.test[metric.name]);
    lines.push(
      `| ${row.label} | ${row.family} | ${cell(row.params)} | ${value}${baseline} | ${convergenceCell(row)} | ${cell(row.samplesPerSecond)} | ${formatDuration(row.trainMs)} | ${formatDuration(row.wallMs)} |`,
    );
  }
  const epochs = Math.max(0, ...result.rows.map((r) => r.epochs.length));
  if (epochs > 0) {
    lines.push('', `Validation ${target.metric} after each epoch:`, '');
    lines.push(`| model | ${Array.from({ length: epochs }, (_, i) => `${i + 1}`).join(' | ')} |`);
    lines.push(`|---|${'---:|'.repeat(epochs)}`);
    for (const row of result.rows) {
      const values = Array.from({ length: epochs }, (_, i) => cell(row.epochs[i]?.validation[target.metric]));
      lines.push(`| ${row.label} | ${values.join(' | ')} |`);
    }
  }
  if (result.claims.length > 0) {
    lines.push('', '### Claims', '');
    for (const claim of result.claims) {
      lines.push(`- **${VERDICT_MARK[claim.verdict]}**: ${claim.statement}`);
      for (const check of claim.checks) lines.push(`  - ${check.holds === null ? 'not measured' : check.holds ? 'holds' : 'fails'}: ${check.evidence}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Best first by the suite's metric; rows without it (failed runs) last, in suite order. */
export function sortRows(rows: readonly ShootoutRow[], metric: ShootoutResult['metric']): ShootoutRow[] {
  const score = (row: ShootoutRow): number | null => {
    const value = row.error === null ? row.test[metric.name] : undefined;
    return value === undefined || !Number.isFinite(value) ? null : value;
  };
  return rows
    .map((row, index) => ({ row, index, value: score(row) }))
    .sort((a, b) => {
      if (a.value === null || b.value === null) return a.value === null && b.value === null ? a.index - b.index : a.value === null ? 1 : -1;
      const diff = metric.better === 'higher' ? b.value - a.value : a.value - b.value;
      return diff !== 0 ? diff : a.index - b.index;
    })
    .map((entry) => entry.row);
}

/** The JSON stored beside the markdown: the whole result, numbers unformatted. */
export function renderJson(result: ShootoutResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}
