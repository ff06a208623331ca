import type { z } from 'zod';
import { formatIssues, parseWith } from '@tfleet/contracts';
import { CliError, ExitCode } from './tfleet-errors';
import type { Connection } from './tfleet-connection';

/** How long one request may take before the CLI gives up on it. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface RequestOptions {
  body?: unknown;
  /** Said when the route itself is missing (a server without this feature), instead of the 404's text. */
  feature?: string;
}

/** The error body every API error has (HttpErrorFilter): `message`, and `issues` on a 400. */
function errorMessage(body: unknown, fallback: string): string {
  if (typeof body === 'object' && body !== null && 'message' in body) {
    const message = (body as { message: unknown }).message;
    if (typeof message === 'string') return message;
    if (Array.isArray(message)) return message.map(String).join('; ');
  }
  return typeof body === 'string' && body.length > 0 && body.length < 300 ? body : fallback;
}

/** Nest's answer for a route that does not exist ("Cannot GET /api/sweeps"), as opposed to an unknown id. */
const isMissingRoute = (message: string) => /^Cannot (GET|POST|PUT|PATCH|DELETE) /.test(message);

/** A 404 for a route this server does not have (an older API), as opposed to an unknown id. */
class MissingRouteError extends CliError {}

/** The REST API as the CLI calls it: every failure becomes one CliError line that says what to do. */
export class TfleetClient {
  constructor(readonly connection: Connection) {}

  /** A request whose JSON answer is checked against `schema` (the fields the command relies on). */
  async json<S extends z.ZodType>(method: string, path: string, schema: S, options: RequestOptions = {}): Promise<{ value: z.output<S>; raw: unknown }> {
    const response = await this.send(method, path, options);
    const raw = await this.readJson(response, method, path);
    const parsed = parseWith(schema, raw);
    if (!parsed.ok) {
      throw new CliError(`unexpected answer from ${this.connection.url} to ${method} ${path} (${formatIssues(parsed.issues)}): is it a tfleet API of this version?`, ExitCode.ServerError);
    }
    return { value: parsed.value, raw };
  }

  /** A request whose body is returned as bytes (exported weights). */
  async bytes(path: string, options: RequestOptions = {}): Promise<Buffer> {
    const response = await this.send('GET', path, options);
    return Buffer.from(await response.arrayBuffer());
  }

  /**
   * Opens a server-sent events stream (no time limit: it lasts as long as what it follows; `signal`
   * ends it). Null when this server has no such route (404 "Cannot GET"), so the caller can poll.
   */
  async eventStream(path: string, signal: AbortSignal): Promise<ReadableStream<Uint8Array> | null> {
    try {
      const response = await this.send('GET', path, { feature: 'events' }, { accept: 'text/event-stream', signal });
      if (response.body === null) throw new CliError(`${this.connection.url} answered GET ${path} with no body: is --url the tfleet API?`, ExitCode.ServerError);
      return response.body;
    } catch (error) {
      if (error instanceof MissingRouteError) return null;
      throw error;
    }
  }

  private async send(method: string, path: string, options: RequestOptions, how: { accept: string; signal: AbortSignal } = { accept: 'application/json', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }): Promise<Response> {
    const { url, key } = this.connection;
    const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept: how.accept };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${url}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: how.signal,
      });
    } catch (error) {
      if (how.signal.aborted && how.signal.reason instanceof CliError) throw how.signal.reason;
      throw this.unreachable(error);
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: a proxy's page, say; its status still tells what happened
    }
    throw this.httpError(response.status, body, method, path, options);
  }

  private async readJson(response: Response, method: string, path: string): Promise<unknown> {
    const text = await response.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new CliError(`${this.connection.url} answered ${method} ${path} with something that is not JSON: is --url the tfleet API?`, ExitCode.ServerError);
    }
  }

  private unreachable(error: unknown): CliError {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String((cause as { code: unknown }).code) : null;
    const { url } = this.connection;
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      return new CliError(`the API at ${url} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s: check that it is up (GET ${url}/api/health)`, ExitCode.Unreachable);
    }
    const why = code ?? (cause instanceof Error ? cause.message : 'no answer');
    return new CliError(`cannot reach the tfleet API at ${url} (${why}): start it (npm start) or point --url / TFLEET_URL at it`, ExitCode.Unreachable);
  }

  private httpError(status: number, body: unknown, method: string, path: string, options: RequestOptions): CliError {
    const message = errorMessage(body, `HTTP ${status}`);
    const { url, keySource } = this.connection;
    switch (status) {
      case 400:
      case 413:
      case 415:
        return new CliError(message, ExitCode.BadInput);
      case 401:
        return new CliError(`the API at ${url} refused the key from ${keySource} (${message}): pass the key the API printed at start with --key or TFLEET_API_KEY`, ExitCode.Unauthorized);
      case 404:
        if (options.feature !== undefined && isMissingRoute(message)) {
          return new MissingRouteError(`${options.feature} is not available on this server (${method} ${path}: 404): it needs a newer tfleet API`, ExitCode.NotFound);
        }
        return new CliError(message, ExitCode.NotFound);
      case 409:
        return new CliError(message, ExitCode.ServerError);
      case 503:
        return new CliError(`${message} (the API answered 503: retry once it is back)`, ExitCode.ServerError);
      default:
        return new CliError(`the API answered ${status} to ${method} ${path}: ${message}${status >= 500 ? " (see the API's log)" : ''}`, ExitCode.ServerError);
    }
  }
}
