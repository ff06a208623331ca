import { ConsoleLogger, type LoggerService, type LogLevel } from '@nestjs/common';

/** Where a log event happened; any of them may be unknown. */
export interface LogFields {
  experimentId?: string;
  attempt?: number;
  workerId?: string;
  [field: string]: string | number | boolean | null | undefined;
}

export type LogFormat = 'text' | 'json';

/** One event as the JSON format writes it (one object per line). */
export interface JsonLogLine extends LogFields {
  time: string;
  level: LogLevel;
  context?: string;
  msg: string;
}

type Write = (line: string, level: LogLevel) => void;

const writeToStdio: Write = (line, level) => {
  (level === 'error' || level === 'fatal' ? process.stderr : process.stdout).write(`${line}\n`);
};

function isFields(value: unknown): value is LogFields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Error);
}

/**
 * The Nest logger of the API and the workers. `text` writes Nest's readable lines with the
 * event's fields appended (`experimentId=... attempt=2`); `json` writes one JSON object per
 * event, so a log shipper can index experiment, attempt and worker without parsing prose.
 * Callers pass fields as an object among Nest's optional parameters:
 * `logger.log('started', { experimentId, attempt })`. `base` fields (the worker's id) go on
 * every line.
 */
export class TfleetLogger implements LoggerService {
  private readonly console = new ConsoleLogger();

  constructor(
    private readonly format: LogFormat,
    private readonly base: LogFields = {},
    private readonly write: Write = writeToStdio,
    private readonly levels: readonly LogLevel[] = ['log', 'warn', 'error', 'fatal'],
  ) {}

  log(message: unknown, ...params: unknown[]): void {
    this.emit('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.emit('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.emit('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.emit('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.emit('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.emit('fatal', message, params);
  }

  private emit(level: LogLevel, message: unknown, params: unknown[]): void {
    if (!this.levels.includes(level)) return;
    // Nest appends the logger's context as the last string parameter; error() may carry a stack before it.
    const strings = params.filter((p): p is string => typeof p === 'string');
    const context = strings.length > 0 ? strings[strings.length - 1] : undefined;
    const stack = level === 'error' || level === 'fatal' ? strings.find((s) => s !== context && s.includes('\n')) : undefined;
    const fields: LogFields = { ...this.base };
    for (const p of params) if (isFields(p)) Object.assign(fields, p);
    const text = message instanceof Error ? message.message : typeof message === 'string' ? message : JSON.stringify(message);
    if (this.format === 'json') {
      const line: JsonLogLine = { time: new Date().toISOString(), level, ...(context !== undefined ? { context } : {}), msg: text, ...definedFields(fields) };
      if (stack !== undefined) line['stack'] = stack;
      this.write(JSON.stringify(line), level);
      return;
    }
    // Readable lines skip what they already say ("experiment <id> attempt 2: ...") and the base fields.
    const suffix = Object.entries(definedFields(fields))
      .filter(([key, value]) => !(key in this.base) && !text.includes(typeof value === 'number' ? `${key} ${value}` : String(value)))
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(' ');
    const readable = suffix.length > 0 ? `${text} [${suffix}]` : text;
    const args: unknown[] = stack !== undefined ? [stack] : [];
    if (context !== undefined) args.push(context);
    this.console[level](readable, ...args);
  }
}

function definedFields(fields: LogFields): LogFields {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as LogFields;
}
