import type { Command } from 'commander';
import type { CommandContext } from '../tfleet-context';
import { duration, printJson, table } from '../tfleet-output';
import { queueShape, workersShape } from '../tfleet-shapes';

export function registerFleetCommands(program: Command, ctx: CommandContext): void {
  program
    .command('workers')
    .description('workers that beat in the last hour: live, lost or stopped')
    .option('--json', 'print the workers as JSON')
    .action(async (opts: { json?: boolean }) => {
      const { value, raw } = await ctx.client().json('GET', '/api/workers', workersShape);
      if (opts.json) return printJson(ctx.output, raw);
      if (value.workers.length === 0) return ctx.output.out('no workers have beaten in the last hour');
      ctx.output.out(
        table(
          ['id', 'state', 'host', 'backend', 'max ranks', 'training', 'jobs done', 'last beat'],
          value.workers.map((w) => [w.id, w.state, w.host, w.backend, w.maxRanks, w.currentExperiments.join(', ') || '-', w.jobsDone, `${duration(w.lastSeenMsAgo / 1000)} ago`]),
        ),
      );
    });

  const queue = program.command('queue').description('experiment jobs by state; queue pause | resume');
  const show = (raw: unknown, value: { paused: boolean; counts: Record<string, number> }, json: boolean) => {
    if (json) return printJson(ctx.output, raw);
    ctx.output.out(table(['state', 'jobs'], Object.entries(value.counts).map(([state, n]) => [state, n])));
    ctx.output.out(value.paused ? 'the queue is paused: no new job starts (tfleet queue resume)' : 'the queue is running');
  };
  queue
    .command('status', { isDefault: true })
    .description('job counts by state and whether the queue is paused')
    .option('--json', 'print the queue as JSON')
    .action(async (opts: { json?: boolean }) => {
      const { value, raw } = await ctx.client().json('GET', '/api/queue', queueShape);
      show(raw, value, opts.json === true);
    });
  for (const [name, what] of [
    ['pause', 'pause the queue: running jobs go on, no new job starts'],
    ['resume', 'resume the queue'],
  ] as const) {
    queue
      .command(name)
      .description(what)
      .option('--json', 'print the queue as JSON')
      .action(async (opts: { json?: boolean }) => {
        const { value, raw } = await ctx.client().json('POST', `/api/queue/${name}`, queueShape);
        show(raw, value, opts.json === true);
      });
  }
}
