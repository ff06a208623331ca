import type { Command } from 'commander';
import type { CommandContext } from '../tfleet-context';
import { CliError, ExitCode, type ExitCodeValue } from '../tfleet-errors';
import { int, num, type Output, printJson, table } from '../tfleet-output';
import { rerunShape, shootoutShape, sweepPageShape, type SweepShape, sweepShape, type TrialShape } from '../tfleet-shapes';
import { readDocument } from '../tfleet-spec-file';

const FEATURE = 'sweeps';
const sweepPath = (id: string) => `/api/sweeps/${encodeURIComponent(id)}`;

/** A trial's configuration as `path=value, ...` (its seed apart), values as the sweep gave them. */
function assignment(values: Record<string, unknown>): string {
  const text = Object.entries(values)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
  return text === '' ? '-' : text;
}

/** Why a trial stopped where it did: ASHA's rung and cutoff, the run's error, or nothing. */
function why(trial: TrialShape): string {
  if (trial.stop) return `rung ${trial.stop.rung} (epoch ${trial.stop.epoch}): ${trial.stop.metric} ${num(trial.stop.value)} vs cutoff ${num(trial.stop.cutoff)}`;
  if (trial.error) return trial.error.length > 60 ? `${trial.error.slice(0, 57)}...` : trial.error;
  return '-';
}

const countsLine = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');

/** The heading, the trials table and the totals of a sweep. */
export function printSweep(output: Output, sweep: SweepShape): void {
  const { metric } = sweep;
  output.out(`sweep ${sweep.id}${sweep.name ? ` (${sweep.name})` : ''}: ${sweep.status}, ${sweep.method}, ${sweep.trials.length} trial(s): ${countsLine(sweep.counts)}`);
  output.out(
    table(
      ['#', 'trial', 'config', 'seed', 'status', 'epochs', `${metric.name} (last epoch)`, `test ${metric.name}`, 'stopped because'],
      sweep.trials.map((t) => [t.index, t.id.slice(0, 8), assignment(t.assignment), t.seed, t.status, t.epochs, num(t.metric), num(t.test), why(t)]),
    ),
  );
  const best = sweep.best ? `${sweep.best.id.slice(0, 8)} (${assignment(sweep.best.assignment)}, seed ${sweep.best.seed}): test ${metric.name} ${num(sweep.best.test)}` : 'none completed yet';
  output.out(`best so far by test ${metric.name} (${metric.mode === 'max' ? 'higher' : 'lower'} is better): ${best}`);
  output.out(`epochs spent: ${int(sweep.epochsSpent)}${sweep.stoppedBy ? `; stopWhen met by ${sweep.stoppedBy.trialId.slice(0, 8)}` : ''}`);
}

/**
 * Reads the sweep once a second until it is no longer running, with one line on stderr whenever
 * its counts change; returns the last view.
 */
async function followSweep(ctx: CommandContext, id: string, everyMs = 1_000): Promise<SweepShape> {
  let lastLine = '';
  for (;;) {
    const { value } = await ctx.client().json('GET', sweepPath(id), sweepShape, { feature: FEATURE });
    const line = `sweep ${value.id.slice(0, 8)}: ${value.status}, ${countsLine(value.counts)}, ${int(value.epochsSpent)} epoch(s) spent`;
    if (line !== lastLine) ctx.output.err(line);
    lastLine = line;
    if (value.status !== 'running') return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** 0 when the sweep completed with no failed or cancelled trial (ASHA's stopped ones are an outcome), else 1. */
const sweepOutcome = (sweep: SweepShape): ExitCodeValue => (sweep.status === 'completed' && !sweep.trials.some((t) => t.status === 'failed' || t.status === 'cancelled') ? ExitCode.Ok : ExitCode.RunNotCompleted);

export function registerSweepCommands(program: Command, ctx: CommandContext): void {
  const sweep = program.command('sweep').description('hyperparameter sweeps (/api/sweeps)');
  sweep
    .command('submit')
    .description('submit a sweep from a JSON or YAML file ({ base, space, method, seeds, ... }, README "Sweeps")')
    .argument('<file>', 'sweep file (.json, .yaml, .yml)')
    .option('-w, --watch', 'follow the sweep to its end, then print its trials; exit 0 only if no trial failed or was cancelled')
    .option('--json', 'print the sweep as JSON (with --watch: as it ended)')
    .action(async (file: string, opts: { watch?: boolean; json?: boolean }) => {
      const body = readDocument(file, 'sweep file');
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CliError(`sweep file ${file} holds no sweep: write one object with base, space and method`, ExitCode.BadInput);
      const { value, raw } = await ctx.client().json('POST', '/api/sweeps', sweepShape, { body, feature: FEATURE });
      if (!opts.watch) {
        if (opts.json) return printJson(ctx.output, raw);
        return ctx.output.out(`sweep ${value.id}${value.name ? ` (${value.name})` : ''}: ${value.trials.length} trial(s), ${countsLine(value.counts)}`);
      }
      if (!opts.json) ctx.output.out(`submitted sweep ${value.id}${value.name ? ` (${value.name})` : ''}: ${value.trials.length} trial(s)`);
      await followSweep(ctx, value.id);
      // The final view is read once more as it came, so --json prints the API's answer unchanged.
      const { value: final, raw: finalRaw } = await ctx.client().json('GET', sweepPath(value.id), sweepShape, { feature: FEATURE });
      if (opts.json) printJson(ctx.output, finalRaw);
      else printSweep(ctx.output, final);
      ctx.exitCode = sweepOutcome(final);
    });
  sweep
    .command('ls')
    .description('sweeps (and shootouts), newest first')
    .option('--page <n>', 'page (from 1)', '1')
    .option('--page-size <n>', 'sweeps per page (at most 100)', '20')
    .option('--json', 'print the page as JSON')
    .action(async (opts: { page: string; pageSize: string; json?: boolean }) => {
      const query = new URLSearchParams({ page: opts.page, pageSize: opts.pageSize });
      const { value, raw } = await ctx.client().json('GET', `/api/sweeps?${query}`, sweepPageShape, { feature: FEATURE });
      if (opts.json) return printJson(ctx.output, raw);
      if (value.items.length === 0) return ctx.output.out(value.total === 0 ? 'no sweeps' : `no sweeps on page ${value.page} (${value.total} in all)`);
      ctx.output.out(
        table(
          ['id', 'name', 'kind', 'method', 'status', 'created', 'finished'],
          value.items.map((s) => [s.id, s.name ?? '-', s.kind, s.method, s.status, s.createdAt.replace('T', ' ').slice(0, 19), s.finishedAt?.replace('T', ' ').slice(0, 19) ?? '-']),
        ),
      );
      ctx.output.out(`page ${value.page} of ${Math.max(1, Math.ceil(value.total / value.pageSize))} (${value.total} sweep${value.total === 1 ? '' : 's'})`);
    });
  sweep
    .command('get')
    .description('a sweep: its trials (status, epochs, metric, why stopped), the best so far, epochs spent')
    .argument('<id>', 'sweep id')
    .option('--json', 'print the sweep as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const { value, raw } = await ctx.client().json('GET', sweepPath(id), sweepShape, { feature: FEATURE });
      if (opts.json) return printJson(ctx.output, raw);
      printSweep(ctx.output, value);
    });
  sweep
    .command('cancel')
    .description('cancel a running sweep: waiting trials are cancelled, running ones stop')
    .argument('<id>', 'sweep id')
    .option('--json', 'print the sweep as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const { value, raw } = await ctx.client().json('POST', `${sweepPath(id)}/cancel`, sweepShape, { feature: FEATURE });
      if (opts.json) return printJson(ctx.output, raw);
      ctx.output.out(`sweep ${value.id} ${value.status}: ${countsLine(value.counts)}`);
    });
  sweep
    .command('rerun-failed')
    .description('queue the failed and cancelled trials of a sweep again (same ids)')
    .argument('<id>', 'sweep id')
    .option('--json', 'print the answer ({ requeued, sweep }) as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const { value, raw } = await ctx.client().json('POST', `${sweepPath(id)}/rerun-failed`, rerunShape, { feature: FEATURE });
      if (opts.json) return printJson(ctx.output, raw);
      ctx.output.out(`sweep ${value.sweep.id}: ${value.requeued.length} trial(s) queued again${value.requeued.length > 0 ? ` (${value.requeued.map((t) => t.slice(0, 8)).join(', ')})` : ''}; ${countsLine(value.sweep.counts)}`);
    });

  // One command for both forms: commander would hand `shootout get <id> --json`'s --json to a
  // parent that has its own (unless every option of the program were positional).
  program
    .command('shootout')
    .description('run a shootout suite on the fleet (POST /api/shootouts); `shootout get <id>`: its claims table and trials')
    .argument('<suite>', "suite name (adding-100, sequence-speed, mnist, cmudict, brown), or 'get'")
    .argument('[id]', "with 'get': the shootout id")
    .option('--seeds <list>', 'seeds, comma-separated', '42')
    .option('--only <labels>', "only these of the suite's entries, comma-separated")
    .option('--epochs <n>', "epochs for every entry instead of the suite's")
    .option('--max-concurrent <n>', 'most trials queued or running at once')
    .option('--markdown', "get: print the report's markdown (the table `npm run shootout` writes)")
    .option('--json', 'print the report as JSON')
    .action(async (suite: string, id: string | undefined, opts: { seeds: string; only?: string; epochs?: string; maxConcurrent?: string; markdown?: boolean; json?: boolean }) => {
      if (suite === 'get') {
        if (id === undefined) throw new CliError('name the shootout: tfleet shootout get <id>', ExitCode.BadInput);
        return printShootout(ctx, id, opts);
      }
      if (id !== undefined) throw new CliError(`unexpected argument '${id}': tfleet shootout <suite> [--seeds 1,2] runs a suite, tfleet shootout get <id> reads one`, ExitCode.BadInput);
      const list = (text: string) =>
        text
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
      const number = (text: string, flag: string) => {
        const n = Number(text);
        if (!Number.isInteger(n)) throw new CliError(`${flag}: expected a whole number, got '${text}'`, ExitCode.BadInput);
        return n;
      };
      const body = {
        suite,
        seeds: list(opts.seeds).map((s) => number(s, '--seeds')),
        ...(opts.only ? { only: list(opts.only) } : {}),
        ...(opts.epochs ? { epochs: number(opts.epochs, '--epochs') } : {}),
        ...(opts.maxConcurrent ? { maxConcurrent: number(opts.maxConcurrent, '--max-concurrent') } : {}),
      };
      const { value, raw } = await ctx.client().json('POST', '/api/shootouts', shootoutShape, { body, feature: 'shootouts' });
      if (opts.json) return printJson(ctx.output, raw);
      ctx.output.out(`shootout ${value.id} (${value.suite}, seeds ${value.seeds.join(', ')}): ${value.trials.length} trial(s); tfleet shootout get ${value.id} shows the claims, tfleet sweep get ${value.id} the trials`);
    });
}

/** A shootout's trials and claim verdicts with their evidence (or its markdown, or the API's JSON). */
async function printShootout(ctx: CommandContext, id: string, opts: { json?: boolean; markdown?: boolean }): Promise<void> {
  const { value, raw } = await ctx.client().json('GET', `/api/shootouts/${encodeURIComponent(id)}`, shootoutShape, { feature: 'shootouts' });
  if (opts.json) return printJson(ctx.output, raw);
  if (opts.markdown) return ctx.output.out(value.markdown);
  ctx.output.out(`shootout ${value.id} (${value.suite}, seeds ${value.seeds.join(', ')}): ${value.status}`);
  ctx.output.out(
    table(
      ['label', 'seed', 'status', `test ${value.metric.name}`],
      value.trials.map((t) => [t.label, t.seed, t.status, num(t.test?.[value.metric.name])]),
    ),
  );
  ctx.output.out(table(['claim', 'verdict', 'evidence'], value.claims.map((c) => [c.statement, c.verdict, c.checks.map((k) => k.evidence).join('; ') || '-']), [50, 14, 50]));
}
