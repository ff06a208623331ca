import { Agent, request } from 'node:http';

export interface PacedLoadOptions {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Requests per second, spread evenly: request i is due at i / rate seconds. */
  rate: number;
  durationS: number;
  /** Keep-alive connections at most; a request due while all are busy waits for one (and that wait counts). */
  connections: number;
  timeoutMs?: number;
}

export interface PacedLoadResult {
  requests: number;
  /** Every 2xx response's latency in ms, ascending. */
  latenciesMs: number[];
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** The value at quantile q (0..1) of an ascending list: the smallest value with at least q of the list at or below it. */
export function quantile(ascending: readonly number[], q: number): number | null {
  if (ascending.length === 0) return null;
  return ascending[Math.min(ascending.length - 1, Math.max(0, Math.ceil(q * ascending.length) - 1))]!;
}

/**
 * An open-loop load: `rate` requests a second, each sent when it is due whatever the answers
 * before it did, its latency measured from when it was due to its last response byte. A late
 * timer or a wait for a free connection therefore counts against the server, and a slow answer
 * never holds back the requests after it (no coordinated omission).
 *
 * Why not autocannon's own rate mode (9.0.0): each connection sends its share of a second
 * back to back as soon as the second starts, then idles (httpClient.js `reqsMadeThisSecond`),
 * so 200/s over 10 connections is a burst of 200 with 10 in flight every second; and its
 * correction for coordinated omission takes the expected interval as `Math.ceil(1 / rate)` ms
 * (run.js), 1 ms for any rate, adding a synthetic sample for every millisecond of every
 * response (6,000 requests gave 40,447 latency samples).
 */
export async function pacedLoad(options: PacedLoadOptions): Promise<PacedLoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.url);
  const total = Math.round(options.rate * options.durationS);
  const intervalMs = 1000 / options.rate;
  const result: PacedLoadResult = { requests: 0, latenciesMs: [], non2xx: 0, errors: 0, timeouts: 0 };
  const inFlight: Promise<void>[] = [];

  const send = (dueAt: number): Promise<void> =>
    new Promise((resolve) => {
      const req = request(
        { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: options.method, headers: options.headers, agent, timeout: options.timeoutMs ?? 10_000 },
        (res) => {
          res.resume();
          res.on('end', () => {
            result.requests++;
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) result.latenciesMs.push(performance.now() - dueAt);
            else result.non2xx++;
            resolve();
          });
        },
      );
      let timedOut = false;
      req.on('timeout', () => {
        timedOut = true;
        result.timeouts++;
        req.destroy();
      });
      req.on('error', () => {
        if (!timedOut) result.errors++;
        resolve();
      });
      req.end(options.body);
    });

  const start = performance.now() + 5;
  let next = 0;
  await new Promise<void>((done) => {
    const tick = (): void => {
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) {
        inFlight.push(send(start + next * intervalMs));
        next++;
      }
      if (next >= total) return done();
      setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
    };
    setTimeout(tick, 5);
  });
  await Promise.all(inFlight);
  agent.destroy();
  result.latenciesMs.sort((a, b) => a - b);
  return result;
}
