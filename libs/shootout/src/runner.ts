import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { type BackendRequest, type ExperimentSpec, formatIssues, parseExperimentSpec, type RankReport } from '@tfleet/contracts';
import { initBackend, runTrainingRank } from '@tfleet/ml';
import { SoloCollective } from '@tfleet/parallel';
import { type ClaimVerdict, evaluateClaims } from './claims';
import type { ShootoutSuite } from './presets';
import { rowFromReports, type ShootoutRow } from './rows';

export interface ShootoutResult {
  suite: string;
  description: string;
  /** The metric the table ranks by, and which way is better. */
  metric: ShootoutSuite['metric'];
  target: ShootoutSuite['target'];
  /** The validated specs, every default filled in: what to submit to reproduce a row. */
  specs: Record<string, ExperimentSpec>;
  rows: ShootoutRow[];
  claims: ClaimVerdict[];
  startedAt: string;
  wallMs: number;
  /** Where it ran: backend and device as the backend reported them, Node version, CPUs (0: not known), and the workers when it ran on the fleet. */
  environment: { backend: string; device: string; node: string; cpus: number; workers?: string[] };
}

export interface ShootoutOptions {
  /** Backend for specs that ask for `auto` (the training.backend default). */
  backend?: BackendRequest;
  /** Run only the entries with these labels. */
  only?: readonly string[];
  /** Train every entry this many epochs instead of the suite's budget (a longer run of the same models). */
  epochs?: number;
  /** Called with each rank report as it comes (progress lines for a CLI). */
  onReport?: (label: string, report: RankReport) => void;
  /** Called before each entry starts. */
  onEntry?: (label: string, index: number, total: number) => void;
}

/**
 * Trains every entry of a suite one after the other, in this process, with the project's own
 * rank loop (`runTrainingRank`) on one rank (`SoloCollective`): the same code a worker's
 * rank runs, minus the queue and the database. One rank keeps the runs comparable on a
 * shared machine; the same specs go through the API for multi-rank runs.
 * A run that throws becomes a row with its error; the others still run.
 */
export async function runShootout(suite: ShootoutSuite, options: ShootoutOptions = {}): Promise<ShootoutResult> {
  const suiteSpecs = validatedSpecs(suite);
  // What actually trains (and what the result records): the suite's specs, with the epochs override.
  const specs: Record<string, ExperimentSpec> =
    options.epochs === undefined
      ? suiteSpecs
      : Object.fromEntries(Object.entries(suiteSpecs).map(([label, s]) => [label, { ...s, training: { ...s.training, epochs: options.epochs! } }]));
  const entries = suite.entries.filter((e) => !options.only || options.only.includes(e.label));
  if (entries.length === 0) throw new Error(`no entries of suite '${suite.name}' match ${JSON.stringify(options.only)}`);
  const startedAt = new Date();
  const t0 = performance.now();
  const rows: ShootoutRow[] = [];
  let environment: ShootoutResult['environment'] | undefined;
  for (const [index, entry] of entries.entries()) {
    options.onEntry?.(entry.label, index, entries.length);
    const spec = specs[entry.label]!;
    const requested = spec.training.backend === 'auto' ? (options.backend ?? 'auto') : spec.training.backend;
    const backend = await initBackend(requested);
    environment ??= { backend: backend.backend, device: backend.device, node: process.version, cpus: cpus().length };
    const reports: RankReport[] = [];
    const started = performance.now();
    let error: string | null = null;
    try {
      await runTrainingRank(
        { experimentId: randomUUID(), attempt: 1, spec, rank: 0, worldSize: 1, backend: backend.backend },
        new SoloCollective(),
        (report) => {
          // Checkpoints carry the weights; the table needs none of them.
          if (report.kind === 'checkpoint') return;
          reports.push(report);
          options.onReport?.(entry.label, report);
        },
      );
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught);
    }
    const head = { label: entry.label, family: spec.model.family, dataset: spec.dataset.name };
    rows.push(rowFromReports(head, reports, suite.target, performance.now() - started, error));
  }
  return {
    suite: suite.name,
    description: suite.description,
    metric: suite.metric,
    target: suite.target,
    specs: Object.fromEntries(entries.map((e) => [e.label, specs[e.label]!])),
    rows,
    claims: evaluateClaims(suite.claims, rows),
    startedAt: startedAt.toISOString(),
    wallMs: performance.now() - t0,
    environment: environment!,
  };
}

/** Every entry's spec through the API's own validation; a suite with a bad spec is a bug. */
export function validatedSpecs(suite: ShootoutSuite): Record<string, ExperimentSpec> {
  const specs: Record<string, ExperimentSpec> = {};
  for (const entry of suite.entries) {
    if (specs[entry.label]) throw new Error(`suite '${suite.name}': label '${entry.label}' is used twice`);
    const parsed = parseExperimentSpec(entry.spec);
    if (!parsed.ok) throw new Error(`suite '${suite.name}', entry '${entry.label}': ${formatIssues(parsed.issues)}`);
    specs[entry.label] = parsed.value;
  }
  return specs;
}
