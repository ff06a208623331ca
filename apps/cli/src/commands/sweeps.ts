import type { Command } from 'commander';
import type { CommandContext } from '../tfleet-context';
import { CliError, ExitCode } from '../tfleet-errors';
import { num, printJson, table } from '../tfleet-output';
import { sweepShape } from '../tfleet-shapes';
import { readDocument } from '../tfleet-spec-file';

const FEATURE = 'sweeps';

/** Scalar fields of a trial beyond its id and status (rung, metric, ...), as the server names them. */
function extraColumns(trials: Record<string, unknown>[]): string[] {
  const keys = new Set<string>();
  for (const t of trials) for (const [k, v] of Object.entries(t)) if (k !== 'id' && k !== 'status' && (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || v === null)) keys.add(k);
  return [...keys].slice(0, 6);
}

export function registerSweepCommands(program: Command, ctx: CommandContext): void {
  const sweep = program.command('sweep').description('hyperparameter sweeps (POST/GET /api/sweeps)');
  sweep
    .command('submit')
    .description('submit a sweep from a JSON or YAML file ({ base, space, method, seeds, ... })')
    .argument('<file>', 'sweep file (.json, .yaml, .yml)')
    .option('--json', 'print the sweep as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const body = readDocument(file, 'sweep file');
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CliError(`sweep file ${file} holds no sweep: write one object with base, space and method`, ExitCode.BadInput);
      const { value, raw } = await ctx.client().json('POST', '/api/sweeps', sweepShape, { body, feature: FEATURE });
      if (opts.json) return printJson(ctx.output, raw);
      ctx.output.out(`sweep ${value.id}${value.name ? ` (${value.name})` : ''}: ${value.trials?.length ?? '?'} trial(s)${value.status ? `, ${value.status}` : ''}`);
    });
  sweep
    .command('get')
    .description('a sweep: its trials with status (and rung, metric, where the server gives them)')
    .argument('<id>', 'sweep id')
    .option('--json', 'print the sweep as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const { value, raw } = await ctx.client().json('GET', `/api/sweeps/${encodeURIComponent(id)}`, sweepShape, { feature: FEATURE });
      if (opts.json) return printJson(ctx.output, raw);
      ctx.output.out(`sweep ${value.id}${value.name ? ` (${value.name})` : ''}${value.status ? `: ${value.status}` : ''}`);
      const trials = value.trials ?? [];
      if (trials.length === 0) return ctx.output.out('no trials');
      const extra = extraColumns(trials);
      const show = (v: unknown) => (v === null || v === undefined ? '-' : typeof v === 'number' ? num(v) : String(v));
      ctx.output.out(table(['trial', 'status', ...extra], trials.map((t) => [t.id, t.status, ...extra.map((k) => show(t[k]))])));
    });
}
