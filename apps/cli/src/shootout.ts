import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { backendRequestSchema, type BackendRequest } from '@tfleet/contracts';
import { loadConfig } from '@tfleet/config';
import { evaluateClaims, findSuite, renderJson, renderMarkdown, runShootout, SHOOTOUT_SUITES, type ShootoutResult } from '@tfleet/shootout';

const USAGE = `usage: npm run shootout -- --suite <name> [--json] [--out file.json] [--only label,label] [--epochs N] [--backend wasm]
       npm run shootout -- --suite <name> --specs    (print the suite's specs, one JSON line each, for POST /api/experiments)
       npm run shootout -- --from stored.json [--json] [--out file.json]   (judge a stored run again with the suite's current claims)
       npm run shootout -- --list

Trains every model of a suite in this process (one rank) and prints the comparison table.
The table is stored as JSON and markdown under $TFLEET_DATA_DIR/shootouts/ (default ./data),
or at --out (markdown beside it, .md). --json prints the JSON instead of the markdown.`;

export interface ShootoutArgs {
  suite: string | null;
  json: boolean;
  out: string | null;
  only: string[] | null;
  /** Overrides every entry's epochs (longer runs of the same models). */
  epochs: number | null;
  backend: BackendRequest;
  list: boolean;
  specs: boolean;
  from: string | null;
}

/** Parses the command line; an unknown flag or a missing value is an error, never ignored. */
export function parseShootoutArgs(argv: readonly string[]): ShootoutArgs {
  const args: ShootoutArgs = { suite: null, json: false, out: null, only: null, epochs: null, backend: 'wasm', list: false, specs: false, from: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--suite':
        args.suite = value();
        break;
      case '--json':
        args.json = true;
        break;
      case '--out':
        args.out = value();
        break;
      case '--only':
        args.only = value().split(',').map((s) => s.trim()).filter((s) => s.length > 0);
        break;
      case '--epochs': {
        const epochs = Number(value());
        if (!Number.isInteger(epochs) || epochs < 1 || epochs > 1000) throw new Error('--epochs must be an integer from 1 to 1000');
        args.epochs = epochs;
        break;
      }
      case '--backend': {
        const parsed = backendRequestSchema.safeParse(value());
        if (!parsed.success) throw new Error(`--backend must be one of ${backendRequestSchema.options.join(', ')}`);
        args.backend = parsed.data;
        break;
      }
      case '--list':
        args.list = true;
        break;
      case '--specs':
        args.specs = true;
        break;
      case '--from':
        args.from = value();
        break;
      case '--help':
      case '-h':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown argument '${flag}'\n${USAGE}`);
    }
  }
  if (!args.list && args.suite === null && args.from === null) throw new Error(`--suite (or --from) is required\n${USAGE}`);
  return args;
}

/** Where the JSON and markdown go: --out (and .md beside it), else a timestamped pair in the data directory. */
export function outputPaths(result: Pick<ShootoutResult, 'suite' | 'startedAt'>, out: string | null, dataDir: string): { json: string; markdown: string } {
  if (out !== null) {
    const json = resolve(out);
    return { json, markdown: json.replace(/\.json$/i, '') + '.md' };
  }
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  const base = join(resolve(dataDir), 'shootouts', `${result.suite}-${stamp}`);
  return { json: `${base}.json`, markdown: `${base}.md` };
}

async function main(): Promise<void> {
  const args = parseShootoutArgs(process.argv.slice(2));
  if (args.list) {
    for (const suite of Object.values(SHOOTOUT_SUITES)) console.log(`${suite.name}: ${suite.description} [${suite.entries.map((e) => e.label).join(', ')}]`);
    return;
  }
  if (args.from !== null) {
    const stored = rejudge(JSON.parse(readFileSync(args.from, 'utf8')) as ShootoutResult);
    write(stored, args, args.out ?? args.from);
    return;
  }
  const suite = findSuite(args.suite!);
  if (args.specs) {
    // The specs as written in the suite (defaults left to the API), one request body a line.
    for (const entry of suite.entries) if (!args.only || args.only.includes(entry.label)) console.log(JSON.stringify(entry.spec));
    return;
  }
  // Progress goes to stderr so `--json` output stays parseable.
  const result = await runShootout(suite, {
    backend: args.backend,
    ...(args.only ? { only: args.only } : {}),
    ...(args.epochs !== null ? { epochs: args.epochs } : {}),
    onEntry: (label, index, total) => console.error(`[shootout] ${suite.name}: ${label} (${index + 1}/${total})`),
    onReport: (label, report) => {
      if (report.kind === 'ready') console.error(`[shootout]   ${label}: ${report.paramCount} parameters on ${report.backend} (${report.device})`);
      if (report.kind === 'epoch') {
        const metric = report.validation[suite.target.metric];
        console.error(`[shootout]   ${label}: epoch ${report.epoch}, step ${report.step}, validation ${suite.target.metric} ${metric?.toFixed(4) ?? 'n/a'}, ${report.samplesPerSecond.toFixed(0)} samples/s`);
      }
    },
  });
  write(result, args, args.out);
}

/** Stores the JSON and markdown and prints one of them. */
function write(result: ShootoutResult, args: ShootoutArgs, out: string | null): void {
  const markdown = renderMarkdown(result);
  const json = renderJson(result);
  const paths = outputPaths(result, out, loadConfig().dataDir);
  mkdirSync(dirname(paths.json), { recursive: true });
  writeFileSync(paths.json, json);
  writeFileSync(paths.markdown, markdown);
  process.stdout.write(args.json ? json : markdown);
  console.error(`[shootout] stored ${paths.json} and ${paths.markdown}`);
}

/** A stored result judged again by its suite's current claims (the rows are kept as measured). */
export function rejudge(stored: ShootoutResult): ShootoutResult {
  const suite = findSuite(stored.suite);
  return { ...stored, claims: evaluateClaims(suite.claims, stored.rows) };
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`[shootout] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
