import type { Command } from 'commander';
import { formatIssues, parseExperimentSpec } from '@tfleet/contracts';
import type { CommandContext } from '../tfleet-context';
import { CliError, ExitCode } from '../tfleet-errors';
import { duration, int, metricList, num, printJson, table } from '../tfleet-output';
import { experimentPageShape, type ExperimentShape, experimentShape } from '../tfleet-shapes';
import { readDocument, specsIn } from '../tfleet-spec-file';
import { progressLine, watchExperiments } from '../tfleet-watch';

const path = (id: string) => `/api/experiments/${encodeURIComponent(id)}`;

/** What a list row shows in its last column: progress while it runs, final metrics after. */
function state(view: ExperimentShape): string {
  if (view.status === 'running' && view.progress) {
    const p = view.progress;
    return `epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.totalSteps}, loss ${num(p.loss)}`;
  }
  if (view.error) return view.error.length > 60 ? `${view.error.slice(0, 57)}...` : view.error;
  return metricList(view.metrics);
}

export function registerExperimentCommands(program: Command, ctx: CommandContext): void {
  program
    .command('submit')
    .description('submit the experiment spec(s) in a JSON or YAML file (one spec, or a list)')
    .argument('<file>', 'spec file (.json, .yaml, .yml)')
    .option('-w, --watch', 'follow the run(s) with a progress bar each; exit 0 only if all complete')
    .option('--json', 'print the created experiments (with --watch: the finished ones) as JSON')
    .action(async (file: string, opts: { watch?: boolean; json?: boolean }) => {
      const specs = specsIn(readDocument(file, 'spec file'), file);
      // Checked here first, with the schema the API uses, so a bad list submits nothing.
      specs.forEach((spec, i) => {
        const parsed = parseExperimentSpec(spec);
        const where = specs.length > 1 ? `${file}, spec ${i + 1} of ${specs.length}` : file;
        if (!parsed.ok) throw new CliError(`invalid experiment spec in ${where}: ${formatIssues(parsed.issues)}`, ExitCode.BadInput);
      });
      const created: ExperimentShape[] = [];
      const raws: unknown[] = [];
      for (const spec of specs) {
        const { value, raw } = await ctx.client().json('POST', '/api/experiments', experimentShape, { body: spec });
        created.push(value);
        raws.push(raw);
        if (!opts.json) ctx.output.out(`submitted ${value.id} (${value.name ?? `${value.family} on ${value.dataset}`}, board ${value.boardKey})`);
      }
      if (!opts.watch) {
        if (opts.json) printJson(ctx.output, raws);
        return;
      }
      const outcome = await watchFinal(ctx, created.map((c) => c.id), opts.json === true);
      ctx.exitCode = outcome;
    });

  program
    .command('watch')
    .description('follow experiments until they finish; exit 0 only if all complete')
    .argument('<ids...>', 'experiment ids')
    .option('--json', 'print the finished experiments as JSON')
    .action(async (ids: string[], opts: { json?: boolean }) => {
      ctx.exitCode = await watchFinal(ctx, ids, opts.json === true);
    });

  program
    .command('ls')
    .description('list experiments, newest first')
    .option('-f, --filter <expression>', "filter in the query language, e.g. \"model.family IN ('lstm','gru') AND metrics.accuracy > 0.9\"")
    .option('-s, --status <status>', 'queued | running | completed | failed | cancelled')
    .option('--page <n>', 'page (from 1)', '1')
    .option('--page-size <n>', 'experiments per page (at most 100)', '20')
    .option('--json', 'print the page as JSON')
    .action(async (opts: { filter?: string; status?: string; page: string; pageSize: string; json?: boolean }) => {
      const query = new URLSearchParams({ page: opts.page, pageSize: opts.pageSize });
      if (opts.status) query.set('status', opts.status);
      if (opts.filter) query.set('filter', opts.filter);
      const { value, raw } = await ctx.client().json('GET', `/api/experiments?${query}`, experimentPageShape);
      if (opts.json) return printJson(ctx.output, raw);
      if (value.items.length === 0) return ctx.output.out(value.total === 0 ? 'no experiments' : `no experiments on page ${value.page} (${value.total} in all)`);
      ctx.output.out(
        table(
          ['id', 'name', 'status', 'family', 'dataset', 'created', 'progress or test metrics'],
          value.items.map((e) => [e.id, e.name ?? '-', e.status, e.family, e.dataset, e.createdAt.replace('T', ' ').slice(0, 19), state(e)]),
        ),
      );
      const pages = Math.max(1, Math.ceil(value.total / value.pageSize));
      ctx.output.out(`page ${value.page} of ${pages} (${value.total} experiment${value.total === 1 ? '' : 's'})`);
    });

  program
    .command('get')
    .description('one experiment: status, progress, metrics, what it ran on')
    .argument('<id>', 'experiment id')
    .option('--json', 'print the experiment as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const { value: e, raw } = await ctx.client().json('GET', path(id), experimentShape);
      if (opts.json) return printJson(ctx.output, raw);
      const ranOn = e.runtime ? [e.runtime.backend, e.runtime.device, e.runtime.ranks === undefined ? undefined : `${e.runtime.ranks} rank(s)`].filter(Boolean).join(', ') : '-';
      const rows: [string, string][] = [
        ['id', e.id],
        ['name', e.name ?? '-'],
        ['status', e.status],
        ['model / data set', `${e.family} on ${e.dataset}`],
        ['board', e.boardKey],
        ['attempt', String(e.attempt)],
        ['progress', e.progress && e.status === 'running' ? progressLine(e).split(': ').slice(1).join(': ') : '-'],
        ['test metrics', metricList(e.metrics)],
        ['epochs / steps', `${e.epochs ?? '-'} / ${e.steps ?? '-'}`],
        ['samples/s', int(e.samplesPerSecond)],
        ['wall time', e.wallTimeMs === null ? '-' : duration(e.wallTimeMs / 1000)],
        ['ran on', ranOn || '-'],
        ['worker', e.queue?.worker ?? e.runtime?.workerId ?? '-'],
        ['queue state', e.queue?.state ?? '-'],
        ['created / started / finished', [e.createdAt, e.startedAt ?? '-', e.finishedAt ?? '-'].join(' / ')],
      ];
      if (e.error) rows.push(['error', e.error]);
      ctx.output.out(table(['field', 'value'], rows));
    });

  program
    .command('cancel')
    .description('cancel a queued or running experiment')
    .argument('<id>', 'experiment id')
    .option('--json', 'print the experiment as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const { value, raw } = await ctx.client().json('POST', `${path(id)}/cancel`, experimentShape);
      if (opts.json) return printJson(ctx.output, raw);
      ctx.output.out(`${value.id} ${value.status}`);
    });
}

/** Watches, then prints the finished experiments as JSON (--json) or one summary line each. */
async function watchFinal(ctx: CommandContext, ids: string[], json: boolean): Promise<0 | 1> {
  const finals: ExperimentShape[] = [];
  const collecting = { ...ctx.output, out: (line: string) => (json ? undefined : ctx.output.out(line)) };
  const outcome = await watchExperiments(ids, recordingUpdates(ctx, finals), collecting, ctx.tty);
  if (json) printJson(ctx.output, ids.map((id) => finals.find((f) => f.id === id)));
  return outcome === ExitCode.Ok ? 0 : 1;
}

/** The context's update source, keeping each experiment's last view for --json. */
function recordingUpdates(ctx: CommandContext, finals: ExperimentShape[]) {
  const source = ctx.updates();
  return {
    follow: async (id: string, onView: (view: ExperimentShape) => void, signal: AbortSignal) => {
      const last = await source.follow(id, onView, signal);
      finals.push(last);
      return last;
    },
  };
}
