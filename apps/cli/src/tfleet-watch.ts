import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { TfleetClient } from './tfleet-client';
import { CliError, ExitCode, type ExitCodeValue } from './tfleet-errors';
import { duration, int, metricList, num, type Output } from './tfleet-output';
import { type ExperimentShape, experimentShape } from './tfleet-shapes';

/** Statuses after which an experiment changes no more. */
export const FINISHED_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled', 'stopped']);

/**
 * A source of an experiment's successive states. Polling is the one there is; a server-sent
 * events source (GET /api/experiments/:id/events) can take its place behind this interface.
 */
export interface ExperimentUpdates {
  /** Calls `onView` with each state until the experiment finishes; resolves with the last one. */
  follow(id: string, onView: (view: ExperimentShape) => void, signal: AbortSignal): Promise<ExperimentShape>;
}

/** Reads GET /api/experiments/:id every `everyMs`; rides out an API restart of up to `patienceMs`. */
export class PollingUpdates implements ExperimentUpdates {
  constructor(
    private readonly client: TfleetClient,
    private readonly everyMs = 1_000,
    private readonly patienceMs = 30_000,
  ) {}

  async follow(id: string, onView: (view: ExperimentShape) => void, signal: AbortSignal): Promise<ExperimentShape> {
    let unreachableSince: number | null = null;
    for (;;) {
      signal.throwIfAborted();
      try {
        const { value } = await this.client.json('GET', `/api/experiments/${encodeURIComponent(id)}`, experimentShape);
        unreachableSince = null;
        onView(value);
        if (FINISHED_STATUSES.has(value.status)) return value;
      } catch (error) {
        if (!(error instanceof CliError) || error.exitCode !== ExitCode.Unreachable) throw error;
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > this.patienceMs) throw error;
      }
      await sleep(this.everyMs, signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Seconds left at the current speed: the remaining steps' samples over samples/s. */
export function etaSeconds(view: ExperimentShape): number | null {
  const p = view.progress;
  if (p === null || p.samplesPerSecond <= 0) return null;
  return ((p.totalSteps - p.step) * view.spec.training.batchSize) / p.samplesPerSecond;
}

function label(view: ExperimentShape): string {
  return `${view.id.slice(0, 8)} ${view.name ?? `${view.family}/${view.dataset}`}`;
}

/** One progress line: what a bar shows, as text (for logs and pipes). */
export function progressLine(view: ExperimentShape): string {
  const p = view.progress;
  if (p === null || FINISHED_STATUSES.has(view.status)) return `${label(view)}: ${view.status}`;
  const pct = Math.floor((100 * p.step) / p.totalSteps);
  return `${label(view)}: ${view.status}, epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.totalSteps} (${pct}%), loss ${num(p.loss)}, ${int(p.samplesPerSecond)} samples/s, ETA ${duration(etaSeconds(view))}`;
}

/**
 * One progress bar per experiment on a terminal (cli-progress); elsewhere one line whenever
 * what it would show changes, so a log or a pipe gets the same facts.
 */
export class ProgressDisplay {
  private readonly multi: MultiBar | null;
  private readonly bars = new Map<string, SingleBar>();
  private readonly lastLine = new Map<string, string>();

  constructor(
    private readonly output: Output,
    tty: boolean,
  ) {
    this.multi = tty
      ? new MultiBar(
          {
            format: '{label} |{bar}| {percentage}% | {status} | epoch {epoch} | loss {loss} | {sps} samples/s | ETA {remaining}',
            hideCursor: true,
            clearOnComplete: false,
            stopOnComplete: false,
            autopadding: true,
          },
          Presets.shades_classic,
        )
      : null;
  }

  update(view: ExperimentShape): void {
    if (this.multi === null) {
      const line = progressLine(view);
      if (this.lastLine.get(view.id) !== line) this.output.err(line);
      this.lastLine.set(view.id, line);
      return;
    }
    const p = view.progress;
    const done = view.status === 'completed';
    const total = p?.totalSteps ?? 1;
    const value = done ? total : (p?.step ?? 0);
    // A finished run has no live progress: its row shows what it recorded (epochs, test loss, samples/s).
    const finished = FINISHED_STATUSES.has(view.status);
    const payload = {
      label: label(view),
      status: view.status,
      epoch: p && !finished ? `${p.epoch}/${p.epochs}` : finished && view.epochs !== null ? `${view.epochs}/${view.epochs}` : '-',
      loss: num(p && !finished ? p.loss : view.metrics?.['loss']),
      sps: int(p && !finished ? p.samplesPerSecond : view.samplesPerSecond),
      remaining: finished ? '-' : duration(etaSeconds(view)),
    };
    const bar = this.bars.get(view.id);
    if (bar === undefined) {
      this.bars.set(view.id, this.multi.create(total, value, payload));
      return;
    }
    bar.setTotal(total);
    bar.update(value, payload);
  }

  stop(): void {
    this.multi?.stop();
  }
}

/** One summary line of a finished experiment. */
export function summaryLine(view: ExperimentShape): string {
  const facts = [view.status];
  if (view.metrics) facts.push(`test ${metricList(view.metrics)}`);
  if (view.wallTimeMs !== null) facts.push(`${duration(view.wallTimeMs / 1000)}`);
  if (view.samplesPerSecond !== null) facts.push(`${int(view.samplesPerSecond)} samples/s`);
  if (view.error) facts.push(`error: ${view.error}`);
  return `${view.id} ${facts.join(', ')}`;
}

/**
 * Follows experiments to their end with a progress display, prints one summary line each, and
 * returns the exit status: 0 when all completed, 1 otherwise. Ctrl-C stops watching only.
 */
export async function watchExperiments(ids: string[], updates: ExperimentUpdates, output: Output, tty: boolean): Promise<ExitCodeValue> {
  const display = new ProgressDisplay(output, tty);
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new CliError(`stopped watching; the experiment(s) go on (tfleet cancel <id> stops one, tfleet watch <id> follows it again)`, ExitCode.Interrupted));
  process.once('SIGINT', onSigint);
  let finals: ExperimentShape[];
  try {
    finals = await Promise.all(ids.map((id) => updates.follow(id, (view) => display.update(view), interrupt.signal)));
  } catch (error) {
    interrupt.abort();
    throw error;
  } finally {
    display.stop();
    process.removeListener('SIGINT', onSigint);
  }
  for (const view of finals) output.out(summaryLine(view));
  return finals.every((v) => v.status === 'completed') ? ExitCode.Ok : ExitCode.RunNotCompleted;
}
