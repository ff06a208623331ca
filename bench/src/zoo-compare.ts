import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { selectZooEntries } from './zoo';

/*
 * node dist/bench/src/zoo-compare.js [--rounds 3] [--warmup 3] [--seconds 3] [--entries a,b/*]
 *                                    [--core 0] [--python /usr/bin/python3] [--out file.jsonl]
 *
 * The zoo suite on both sides, pinned to one core (`taskset -c <core>`), alternating the two in
 * rounds (tfleet, PyTorch, tfleet, PyTorch, ...): each side runs every selected entry in one
 * process per round (`npm run bench -- --suite zoo --json`, `pytorch_bench.py --suite zoo`),
 * so load from the rest of a shared machine falls on both sides alike. Per entry it prints the
 * median over rounds of the round's ratio (tfleet samples/s over PyTorch's), the spread, both
 * parameter counts, and marks entries below the issue's 0.5x goal.
 *
 * Entries run one after another in one process per side, so the later entries start with the
 * shared code (tfjs' JavaScript, PyTorch's dispatcher) already warm; each entry still trains
 * --warmup seconds (at least 3 steps) before its clock starts.
 */

const lineSchema = z.looseObject({
  suite: z.literal('zoo'),
  entry: z.string(),
  samples_per_s: z.number().optional(),
  step_ms: z.number().optional(),
  params: z.number().optional(),
  params_tfjs: z.number().optional(),
  error: z.string().optional(),
});
export type ZooLine = z.infer<typeof lineSchema>;

export interface CompareArgs {
  rounds: number;
  warmup: number;
  seconds: number;
  entries: string[] | null;
  core: number;
  python: string;
  out: string | null;
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: zoo-compare [--rounds N] [--warmup S] [--seconds S] [--entries a,b/*] [--core C] [--python path] [--out file.jsonl]\n`);
  process.exit(2);
}

export function parseCompareArgs(argv: string[]): CompareArgs {
  const args: CompareArgs = { rounds: 3, warmup: 3, seconds: 3, entries: null, core: 0, python: '/usr/bin/python3', out: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--rounds':
        args.rounds = Number(value());
        if (!Number.isInteger(args.rounds) || args.rounds < 1) usage('--rounds must be a positive integer');
        break;
      case '--warmup':
        args.warmup = Number(value());
        if (!(args.warmup >= 0)) usage('--warmup must be 0 or more seconds');
        break;
      case '--seconds':
        args.seconds = Number(value());
        if (!(args.seconds > 0)) usage('--seconds must be positive');
        break;
      case '--entries':
        args.entries = value().split(',').filter((e) => e.length > 0);
        break;
      case '--core':
        args.core = Number(value());
        if (!Number.isInteger(args.core) || args.core < 0) usage('--core must be a CPU number');
        break;
      case '--python':
        args.python = value();
        break;
      case '--out':
        args.out = value();
        break;
      default:
        usage(`unknown argument '${flag}'`);
    }
  }
  try {
    selectZooEntries(args.entries);
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  return args;
}

/** Zoo lines of one side's stdout; anything else (a stray print) is skipped, a zoo line must parse. */
export function parseZooLines(stdout: string): ZooLine[] {
  const lines: ZooLine[] = [];
  for (const raw of stdout.split('\n')) {
    const text = raw.trim();
    if (!text.startsWith('{')) continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      continue;
    }
    if (typeof json === 'object' && json !== null && (json as { suite?: unknown }).suite === 'zoo') lines.push(lineSchema.parse(json));
  }
  return lines;
}

export interface EntrySummary {
  entry: string;
  /** Ratios of the rounds where both sides measured the entry. */
  ratios: number[];
  ratio: number | null;
  tfleetSamplesPerS: number | null;
  pytorchSamplesPerS: number | null;
  paramsTfjs: number | null;
  paramsTorch: number | null;
  errors: string[];
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Per entry: the median of the per-round ratios (a round pairs one tfleet run with the PyTorch run after it). */
export function summarize(entries: readonly string[], rounds: ReadonlyArray<{ tfleet: ZooLine[]; pytorch: ZooLine[] }>): EntrySummary[] {
  return entries.map((entry) => {
    const ratios: number[] = [];
    const tf: number[] = [];
    const pt: number[] = [];
    const errors: string[] = [];
    let paramsTfjs: number | null = null;
    let paramsTorch: number | null = null;
    for (const round of rounds) {
      const a = round.tfleet.find((l) => l.entry === entry);
      const b = round.pytorch.find((l) => l.entry === entry);
      if (a?.error) errors.push(`tfleet: ${a.error}`);
      if (b?.error) errors.push(`pytorch: ${b.error}`);
      if (a?.params !== undefined) paramsTfjs = a.params;
      if (b?.params !== undefined) paramsTorch = b.params;
      const x = a && !a.error ? a.samples_per_s : undefined;
      const y = b && !b.error ? b.samples_per_s : undefined;
      if (x !== undefined) tf.push(x);
      if (y !== undefined) pt.push(y);
      if (x !== undefined && y !== undefined && y > 0) ratios.push(x / y);
    }
    return { entry, ratios, ratio: median(ratios), tfleetSamplesPerS: median(tf), pytorchSamplesPerS: median(pt), paramsTfjs, paramsTorch, errors: [...new Set(errors)] };
  });
}

function run(command: string, argv: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${argv.join(' ')} exited with ${code}`))));
  });
}

function fmt(x: number | null, digits = 1): string {
  return x === null ? '-' : x.toFixed(digits);
}

async function main(): Promise<void> {
  const args = parseCompareArgs(process.argv.slice(2));
  const entries = selectZooEntries(args.entries).map((e) => e.name);
  const entryFlag = args.entries ? ['--entries', args.entries.join(',')] : [];
  const timing = ['--warmup', String(args.warmup), '--seconds', String(args.seconds)];
  const core = String(args.core);
  const tfleetArgv = ['-c', core, process.execPath, path.join(__dirname, 'main.js'), '--suite', 'zoo', '--json', ...timing, ...entryFlag];
  const peer = path.join(__dirname, '..', '..', '..', 'bench', 'peers', 'pytorch_bench.py');
  const pytorchArgv = ['-c', core, args.python, peer, '--suite', 'zoo', '--threads', '1', ...timing, ...entryFlag];
  const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
  const rounds: Array<{ tfleet: ZooLine[]; pytorch: ZooLine[] }> = [];
  const raw: string[] = [];
  for (let r = 0; r < args.rounds; r++) {
    process.stderr.write(`round ${r + 1}/${args.rounds}: tfleet\n`);
    const tfleetOut = await run('taskset', tfleetArgv, env);
    process.stderr.write(`round ${r + 1}/${args.rounds}: pytorch\n`);
    const pytorchOut = await run('taskset', pytorchArgv, env);
    const round = { tfleet: parseZooLines(tfleetOut), pytorch: parseZooLines(pytorchOut) };
    rounds.push(round);
    for (const side of ['tfleet', 'pytorch'] as const) for (const line of round[side]) raw.push(JSON.stringify({ round: r + 1, side, ...line }));
  }
  if (args.out) writeFileSync(args.out, `${raw.join('\n')}\n`);
  const summary = summarize(entries, rounds);
  const header = `${'entry'.padEnd(26)} ${'params tfjs'.padStart(11)} ${'torch'.padStart(9)} ${'tfleet/s'.padStart(9)} ${'torch/s'.padStart(9)} ${'ratio'.padStart(6)}  rounds`;
  process.stdout.write(`${header}\n`);
  for (const s of summary) {
    const flag = s.ratio !== null && s.ratio < 0.5 ? '  < 0.5x' : '';
    const spread = s.ratios.map((x) => x.toFixed(2)).join(' ');
    process.stdout.write(
      `${s.entry.padEnd(26)} ${String(s.paramsTfjs ?? '-').padStart(11)} ${String(s.paramsTorch ?? '-').padStart(9)} ${fmt(s.tfleetSamplesPerS).padStart(9)} ${fmt(s.pytorchSamplesPerS).padStart(9)} ${fmt(s.ratio, 2).padStart(6)}  [${spread}]${flag}${s.errors.length ? `  ${s.errors.join('; ')}` : ''}\n`,
    );
  }
  for (const s of summary) process.stderr.write(`${JSON.stringify({ suite: 'zoo', compare: true, entry: s.entry, ratio: s.ratio === null ? null : Math.round(s.ratio * 1000) / 1000, ratios: s.ratios.map((x) => Math.round(x * 1000) / 1000) })}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
