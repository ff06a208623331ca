import type { Command } from 'commander';
import type { CommandContext } from '../tfleet-context';
import { int, num, printJson, table } from '../tfleet-output';
import { boardsShape, compareShape, leaderboardShape } from '../tfleet-shapes';

const cell = (value: unknown): string => (value === null || value === undefined ? '-' : typeof value === 'number' ? (Number.isInteger(value) ? String(value) : num(value)) : typeof value === 'object' ? JSON.stringify(value) : String(value));

export function registerBoardCommands(program: Command, ctx: CommandContext): void {
  program
    .command('boards')
    .description("a data set's boards (one task measured one way), the default first")
    .requiredOption('-d, --dataset <name>', 'data set, e.g. mnist')
    .option('--json', 'print the boards as JSON')
    .action(async (opts: { dataset: string; json?: boolean }) => {
      const { value, raw } = await ctx.client().json('GET', `/api/boards?${new URLSearchParams({ dataset: opts.dataset })}`, boardsShape);
      if (opts.json) return printJson(ctx.output, raw);
      if (value.boards.length === 0) return ctx.output.out(`no experiments on ${value.dataset} yet`);
      ctx.output.out(
        table(
          ['board', 'default', 'experiments', 'completed', 'metrics', 'data set options'],
          value.boards.map((b) => [b.key, b.default ? 'yes' : '', b.experiments, b.completed, b.metrics.join(', ') || '-', Object.entries(b.dataset).filter(([k]) => k !== 'name').map(([k, v]) => `${k}=${cell(v)}`).join(' ')]),
        ),
      );
    });

  program
    .command('leaderboard')
    .description("completed runs of one board ranked by a metric (the data set's default board unless --board)")
    .option('-d, --dataset <name>', 'data set (or give --board)')
    .option('-b, --board <key>', 'board key (tfleet boards lists them)')
    .option('-m, --metric <name>', 'metric to rank by', 'accuracy')
    .option('-f, --filter <expression>', 'filter in the query language')
    .option('-g, --group-by <paths>', "spec paths (comma-separated) or 'config': groups ranked by their mean")
    .option('--aggregate <how>', 'final (default) | best | mean (with --group-by)')
    .option('--family <family>', 'only this model family')
    .option('--order <order>', 'asc | desc (default: by the metric)')
    .option('-n, --limit <n>', 'rows', '20')
    .option('--json', 'print the ranking as JSON')
    .action(async (opts: { dataset?: string; board?: string; metric: string; filter?: string; groupBy?: string; aggregate?: string; family?: string; order?: string; limit: string; json?: boolean }) => {
      const query = new URLSearchParams({ metric: opts.metric, limit: opts.limit });
      for (const [key, value] of [
        ['dataset', opts.dataset],
        ['board', opts.board],
        ['filter', opts.filter],
        ['groupBy', opts.groupBy],
        ['aggregate', opts.aggregate ?? (opts.groupBy ? 'mean' : undefined)],
        ['family', opts.family],
        ['order', opts.order],
      ] as const) {
        if (value !== undefined) query.set(key, value);
      }
      const { value, raw } = await ctx.client().json('GET', `/api/leaderboard?${query}`, leaderboardShape);
      if (opts.json) return printJson(ctx.output, raw);
      const by = value.aggregate === 'best' ? `best validation ${value.metric}` : value.aggregate === 'mean' ? `mean test ${value.metric}` : `test ${value.metric}`;
      ctx.output.out(`${value.dataset}, board ${value.boardKey}, by ${by} (${value.order === 'desc' ? 'higher' : 'lower'} is better)`);
      if (value.groups !== undefined) {
        if (value.groups.length === 0) return ctx.output.out('no completed runs on this board match');
        return ctx.output.out(
          table(
            ['rank', 'group', 'n', `mean ${value.metric}`, 'std', 'min', 'max'],
            value.groups.map((g) => [g.rank, Object.entries(g.group).map(([k, v]) => `${k}=${cell(v)}`).join(' '), g.n, num(g.mean), num(g.std), num(g.min), num(g.max)]),
          ),
        );
      }
      const entries = value.entries ?? [];
      if (entries.length === 0) return ctx.output.out('no completed runs on this board match');
      ctx.output.out(
        table(
          ['rank', 'id', 'name', 'family', value.metric, 'params', 'samples/s', 'backend', 'ranks'],
          entries.map((e) => [e.rank, e.id, e.name ?? '-', e.family, num(e.value), int(e.paramCount), int(e.samplesPerSecond), e.backend ?? '-', e.ranks ?? '-']),
        ),
      );
    });

  program
    .command('compare')
    .description('runs side by side: final metrics and the spec paths that differ')
    .argument('<ids...>', 'experiment ids (two or more)')
    .option('--json', 'print the comparison (with curves) as JSON')
    .action(async (ids: string[], opts: { json?: boolean }) => {
      const { value, raw } = await ctx.client().json('GET', `/api/compare?${new URLSearchParams({ ids: ids.join(',') })}`, compareShape);
      if (opts.json) return printJson(ctx.output, raw);
      const metrics = [...new Set(value.runs.flatMap((r) => Object.keys(r.metrics ?? {})))].sort();
      const rows: string[][] = [
        ['name', ...value.runs.map((r) => r.name ?? '-')],
        ['status', ...value.runs.map((r) => r.status ?? '-')],
        ['board', ...value.runs.map((r) => r.boardKey)],
        ...metrics.map((m) => [`test ${m}`, ...value.runs.map((r) => num(r.metrics?.[m]))]),
        // Spec paths that differ, prefixed so that a path such as `name` is not read as the row above.
        ...value.differences.map((p) => [`spec ${p}`, ...(value.differing[p] ?? []).map(cell)]),
      ];
      ctx.output.out(table(['', ...value.runs.map((r) => r.id.slice(0, 8))], rows));
      ctx.output.out(value.differences.length === 0 ? 'the specs are the same' : `${value.differences.length} spec path(s) differ`);
      if (!value.sameBoard) ctx.output.out('not on one board: their test metrics measure different things');
    });
}
