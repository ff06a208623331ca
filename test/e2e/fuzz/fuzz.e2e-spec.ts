import { Agent, request as httpRequest } from 'node:http';
import { Queue } from 'bullmq';
import { Database } from 'sqlite3';
import { QueueName } from '@tfleet/contracts';
import { redisOptionsFromUrl } from '@tfleet/queue';
import { startTestStack, TEST_REDIS_URL, type TestStack } from '../../utils/tfleet-stack.util';
import { ENDPOINTS, type FuzzRequest, nextRequest, seededRandom } from './request-generator';

/** At least this many requests (the issue asks for 5,000), within the time bound below. */
const REQUESTS = 6_000;
const TIME_BOUND_MS = 240_000;
const CONCURRENCY = 16;
/** A request unanswered this long is a finding (something hangs). */
const REQUEST_TIMEOUT_MS = 15_000;
/** A small body limit keeps oversized bodies cheap to send; the parser's path is the same. */
const BODY_LIMIT = '64kb';
const BODY_LIMIT_BYTES = 64 * 1024;
/** Node's default --max-http-header-size: a longer request head is answered 431 by the HTTP server itself. */
const NODE_MAX_HEADER_BYTES = 16 * 1024;

interface Outcome {
  request: FuzzRequest;
  status: number;
  body: string;
}

/** Row counts of every table, read from a second connection as another process would. */
async function rowCounts(path: string): Promise<Record<string, number | string>> {
  const db = new Database(path);
  const get = (sql: string) => new Promise<Record<string, unknown>[]>((resolve, reject) => db.all(sql, (error, rows) => (error ? reject(error) : resolve(rows as Record<string, unknown>[]))));
  try {
    const out: Record<string, number | string> = {};
    for (const table of ['experiments', 'experiment_metrics', 'checkpoints', 'api_keys']) out[table] = Number((await get(`SELECT COUNT(*) AS n FROM "${table}"`))[0]!['n']);
    out['experiments by status'] = JSON.stringify(await get(`SELECT "status", COUNT(*) AS n FROM "experiments" GROUP BY "status" ORDER BY "status"`));
    out['active keys'] = Number((await get(`SELECT COUNT(*) AS n FROM "api_keys" WHERE "revokedAt" IS NULL`))[0]!['n']);
    return out;
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

function send(baseUrl: URL, agent: Agent | false, r: FuzzRequest): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.body !== undefined) headers['content-length'] = r.body.length;
    const req = httpRequest({ host: baseUrl.hostname, port: baseUrl.port, method: r.method, path: r.path, headers, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ request: r, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 2_000) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    // The server may answer (413, 400) and close before it has read a large body: that is an answer.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? resolve({ request: r, status: -1, body: error.code }) : reject(error)));
    if (r.body !== undefined) req.write(r.body);
    req.end();
  });
}

const describeRequest = (r: FuzzRequest): string =>
  `${r.method} ${r.path.slice(0, 300)} headers=${JSON.stringify(r.headers).slice(0, 300)} body=${r.body === undefined ? '(none)' : JSON.stringify(r.body.toString('utf8').slice(0, 300))}`;

describe('fuzz: generated bad requests to every endpoint (real API process, Redis and SQLite)', () => {
  let stack: TestStack;
  const seed = Number(process.env['TFLEET_FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

  beforeAll(async () => {
    // eslint-disable-next-line no-console
    console.log(`fuzz seed: ${seed} (rerun with TFLEET_FUZZ_SEED=${seed})`);
    stack = await startTestStack({ workers: 0, env: { TFLEET_BODY_LIMIT: BODY_LIMIT } });
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it(`answers ${REQUESTS} generated requests with no 5xx, stays up, and stores nothing from an invalid one`, async () => {
    // Some state to protect: two queued experiments, a read key and a revoked key.
    const experiments: string[] = [];
    for (const spec of [
      { dataset: { name: 'mnist' }, model: { family: 'cnn' } },
      { dataset: { name: 'adding' }, model: { family: 'gru' } },
    ]) {
      const created = await stack.request('POST', '/api/experiments', spec);
      expect(created.status).toBe(201);
      experiments.push((created.body as { id: string }).id);
    }
    const read = (await stack.request('POST', '/api/keys', { name: 'fuzz-read', scopes: ['read'] })).body as { id: string; key: string };
    const revoked = (await stack.request('POST', '/api/keys', { name: 'fuzz-revoked', scopes: ['admin'] })).body as { id: string; key: string };
    expect((await stack.request('DELETE', `/api/keys/${revoked.id}`)).status).toBe(200);
    const keyIds = ((await stack.request('GET', '/api/keys')).body as { keys: { id: string }[] }).keys.map((k) => k.id);

    const queue = new Queue(QueueName.Experiments, { connection: redisOptionsFromUrl(TEST_REDIS_URL), prefix: stack.queuePrefix });
    const events = new Queue(QueueName.RunEvents, { connection: redisOptionsFromUrl(TEST_REDIS_URL), prefix: stack.queuePrefix });
    const queueFacts = async () => ({
      experiments: await queue.getJobCounts(),
      paused: await queue.isPaused(),
      runEvents: await events.getJobCounts(),
    });
    try {
      const rowsBefore = await rowCounts(stack.dbPath);
      const queueBefore = await queueFacts();

      const rand = seededRandom(seed);
      const requests = Array.from({ length: REQUESTS }, () => nextRequest(rand, { admin: stack.apiKey, read: read.key, revoked: revoked.key }, { experiments, keys: keyIds }, BODY_LIMIT_BYTES));
      const baseUrl = new URL(stack.baseUrl);
      const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
      const outcomes: Outcome[] = [];
      const deadline = Date.now() + TIME_BOUND_MS;
      const started = Date.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < requests.length && Date.now() < deadline) {
            const r = requests[next++]!;
            try {
              let outcome = await send(baseUrl, agent, r);
              // A reset may be the client's race with a kept-alive socket the server closed after
              // its previous answer: once more on a connection of its own, so that every request is answered.
              if (outcome.status === -1) outcome = await send(baseUrl, false, r);
              outcomes.push(outcome);
            } catch (error) {
              throw new Error(`seed ${seed}: ${describeRequest(r)} got no answer: ${error instanceof Error ? error.message : String(error)}`);
            }
          }
        }),
      );
      agent.destroy();
      const elapsedMs = Date.now() - started;

      const byEndpoint: Record<string, Record<number, number>> = {};
      for (const o of outcomes) {
        const counts = (byEndpoint[o.request.endpoint] ??= {});
        counts[o.status] = (counts[o.status] ?? 0) + 1;
      }
      // eslint-disable-next-line no-console
      console.log(JSON.stringify({ fuzz: 'api', seed, requests: outcomes.length, elapsedMs, statusesByEndpoint: byEndpoint }));

      expect(outcomes.length).toBeGreaterThanOrEqual(5_000);
      // Only a body over the limit, or a request head near Node's 16-KB header limit, may be cut off
      // unanswered: the server answers (413, 431) and closes before it has read the rest.
      const headBytes = (r: FuzzRequest) => r.path.length + Object.entries(r.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
      const unanswered = outcomes.filter((o) => o.status === -1 && (o.request.body?.length ?? 0) <= BODY_LIMIT_BYTES && headBytes(o.request) < NODE_MAX_HEADER_BYTES - 512);
      expect(unanswered.slice(0, 5).map((o) => `seed ${seed}: ${describeRequest(o.request)} -> ${o.body}`)).toEqual([]);
      expect(Object.keys(byEndpoint).sort()).toEqual([...ENDPOINTS].sort());
      const serverErrors = outcomes.filter((o) => o.status >= 500);
      expect(serverErrors.slice(0, 5).map((o) => `seed ${seed}: ${describeRequest(o.request)} -> ${o.status} ${o.body}`)).toEqual([]);
      const accepted = outcomes.filter((o) => o.request.mustFail && o.status >= 200 && o.status < 300);
      expect(accepted.slice(0, 5).map((o) => `seed ${seed}: ${describeRequest(o.request)} -> ${o.status} ${o.body}`)).toEqual([]);
      // No answer leaks a stack trace or SQL.
      const leaks = outcomes.filter((o) => /\n\s+at |SQLITE_|QueryFailedError|SELECT .* FROM|INSERT INTO/.test(o.body));
      expect(leaks.slice(0, 5).map((o) => `seed ${seed}: ${describeRequest(o.request)} -> ${o.status} ${o.body}`)).toEqual([]);

      const api = stack.processes.get('api');
      expect(api?.exitCode ?? null).toBeNull();
      expect(api?.signalCode ?? null).toBeNull();
      expect((await stack.request('GET', '/api/health', undefined, null)).status).toBe(200);
      expect(await rowCounts(stack.dbPath)).toEqual(rowsBefore);
      expect(await queueFacts()).toEqual(queueBefore);
      for (const id of experiments) expect(((await stack.request('GET', `/api/experiments/${id}`)).body as { status: string }).status).toBe('queued');
    } finally {
      await queue.close();
      await events.close();
    }
  }, TIME_BOUND_MS + 60_000);
});
