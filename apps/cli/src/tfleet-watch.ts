import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { TfleetClient } from './tfleet-client';
import { CliError, ExitCode, type ExitCodeValue } from './tfleet-errors';
import { duration, int, metricList, num, type Output } from './tfleet-output';
import type { z } from 'zod';
import { formatIssues, parseWith } from '@tfleet/contracts';
import { type ExperimentShape, experimentShape, liveProgressShape } from './tfleet-shapes';

/** Statuses after which an experiment changes no more. */
export const FINISHED_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled', 'stopped']);

/**
 * A source of an experiment's successive states: the server-sent events of
 * GET /api/experiments/:id/events, or polling where a server has no such route.
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

/** One server-sent event: its `event:` name and its `data:` lines joined. Comments (heartbeats) are skipped. */
export interface ServerSentEvent {
  type: string;
  data: string;
}

/** Splits a text/event-stream into events as its bytes arrive (the WHATWG format: blank-line separated, `field: value`). */
export async function* serverSentEvents(stream: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let type = 'message';
  let data: string[] = [];
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.search(/\r?\n/)) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer[end] === '\r' ? 2 : 1));
        if (line === '') {
          if (data.length > 0) yield { type, data: data.join('\n') };
          type = 'message';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') type = text;
        else if (field === 'data') data.push(text);
      }
    }
  } finally {
    reader.releaseLock();
    await stream.cancel().catch(() => undefined);
  }
}

/**
 * Follows GET /api/experiments/:id/events: `snapshot` and `experiment` give the whole view,
 * `progress` the live step, loss, samples/s and the server's ETA. Where the server has no such
 * route, or the stream breaks before the run ends (an API restart), polling takes over.
 */
export class EventStreamUpdates implements ExperimentUpdates {
  constructor(
    private readonly client: TfleetClient,
    private readonly fallback: ExperimentUpdates,
  ) {}

  async follow(id: string, onView: (view: ExperimentShape) => void, signal: AbortSignal): Promise<ExperimentShape> {
    const path = `/api/experiments/${encodeURIComponent(id)}/events`;
    const stream = await this.client.eventStream(path, signal);
    if (stream === null) return this.fallback.follow(id, onView, signal);
    // Held in an object: a plain local is narrowed to its initial null inside this `for await` loop (tsc 5).
    const last: { view: ExperimentShape | null } = { view: null };
    try {
      for await (const event of serverSentEvents(stream)) {
        if (event.type === 'snapshot' || event.type === 'experiment') {
          const next: ExperimentShape = this.parse(experimentShape, event, path);
          // A status change carries no live progress: a run still running keeps the last one.
          const before = last.view;
          last.view = { ...next, progress: next.progress ?? (next.status === 'running' && before?.status === 'running' ? before.progress : null) };
        } else if (event.type === 'progress' && last.view !== null) {
          last.view = { ...last.view, progress: this.parse(liveProgressShape, event, path) };
        } else {
          continue;
        }
        onView(last.view);
        if (FINISHED_STATUSES.has(last.view.status)) return last.view;
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof CliError) throw error;
      // The connection broke (the API went away): polling rides out a restart.
    }
    signal.throwIfAborted();
    return this.fallback.follow(id, onView, signal);
  }

  private parse<S extends z.ZodType>(schema: S, event: ServerSentEvent, path: string): z.output<S> {
    let raw: unknown;
    try {
      raw = JSON.parse(event.data);
    } catch {
      raw = undefined;
    }
    const parsed = parseWith(schema, raw);
    if (!parsed.ok) throw new CliError(`unexpected '${event.type}' event from ${this.client.connection.url}${path} (${formatIssues(parsed.issues)}): is it a tfleet API of this version?`, ExitCode.ServerError);
    return parsed.value;
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
  if (p === null) return null;
  // The events stream sends the server's own estimate with each progress report.
  if (typeof p.etaSeconds === 'number') return p.etaSeconds;
  if (p.samplesPerSecond <= 0) return null;
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
