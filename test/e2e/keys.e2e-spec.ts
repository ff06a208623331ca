import { Database } from 'sqlite3';
import { createTestDatabase, type TestDatabase } from '../utils/postgres.util';
import { eventually, startTestStack, type TestStack } from '../utils/tfleet-stack.util';

interface KeyView {
  id: string;
  name: string;
  scopes: string[];
  prefix: string;
  rateLimit: number | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  key?: string;
}

/** Runs one statement on the test's SQLite file from a second connection (as another process would). */
async function sqlite(path: string, sql: string): Promise<void> {
  const db = new Database(path);
  try {
    await new Promise<void>((resolve, reject) => db.exec(sql, (error) => (error ? reject(error) : resolve())));
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

describe('API keys, scopes and rate limits (real API process, Redis and SQLite)', () => {
  let stack: TestStack;
  const create = async (body: unknown, key?: string) => stack.request('POST', '/api/keys', body, key);
  const keys = async (): Promise<KeyView[]> => ((await stack.request('GET', '/api/keys')).body as { keys: KeyView[] }).keys;

  beforeAll(async () => {
    stack = await startTestStack({ workers: 0 });
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('stores the start-up key (TFLEET_API_KEY) as an admin key, hashed; lists never show a key or hash', async () => {
    const listed = await stack.request('GET', '/api/keys');
    expect(listed.status).toBe(200);
    const [startup] = (listed.body as { keys: KeyView[] }).keys;
    expect(startup).toMatchObject({ name: 'startup', scopes: ['admin'], prefix: stack.apiKey.slice(0, 12), revokedAt: null });
    expect(JSON.stringify(listed.body)).not.toContain(stack.apiKey);
    expect(Object.keys(startup!).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'name', 'prefix', 'rateLimit', 'revokedAt', 'scopes']);
  });

  it('a read key reads and may not change anything; a revoked key is refused at once', async () => {
    const created = await create({ name: 'dashboard', scopes: ['read'] });
    expect(created.status).toBe(201);
    const key = created.body as KeyView;
    expect(key.key).toMatch(/^tfl_[A-Za-z0-9_-]{43}$/);
    expect(key.prefix).toBe(key.key!.slice(0, 12));

    expect((await stack.request('GET', '/api/experiments', undefined, key.key)).status).toBe(200);
    expect((await stack.request('GET', '/api/leaderboard?dataset=mnist&metric=accuracy', undefined, key.key)).status).toBe(200);
    const submit = await stack.request('POST', '/api/experiments', { dataset: { name: 'mnist' }, model: { family: 'cnn' } }, key.key);
    expect(submit.status).toBe(403);
    expect((submit.body as { message: string }).message).toContain('needs admin');
    expect((await stack.request('POST', '/api/queue/pause', undefined, key.key)).status).toBe(403);
    expect((await stack.request('GET', '/api/keys', undefined, key.key)).status).toBe(403);
    expect((await create({ name: 'escalate', scopes: ['admin'] }, key.key)).status).toBe(403);
    expect(((await stack.request('GET', '/api/experiments')).body as { total: number }).total).toBe(0);

    const used = await eventually(async () => (await keys()).find((k) => k.id === key.id && k.lastUsedAt !== null), 10_000, 'lastUsedAt');
    expect(Date.parse(used.lastUsedAt!)).toBeGreaterThan(Date.now() - 60_000);

    const revoked = await stack.request('DELETE', `/api/keys/${key.id}`);
    expect(revoked.status).toBe(200);
    expect((revoked.body as KeyView).revokedAt).not.toBeNull();
    expect((await stack.request('GET', '/api/experiments', undefined, key.key)).status).toBe(401);
    expect((await stack.request('DELETE', `/api/keys/${key.id}`)).status).toBe(200);
    expect((await stack.request('DELETE', '/api/keys/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('refuses bad auth headers with 401 and bad key requests with 400 naming the field, storing nothing', async () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer ', `bearer ${stack.apiKey}`, `Basic ${stack.apiKey}`, `Bearer ${stack.apiKey}x`, `Bearer  ${stack.apiKey}`, `Bearer ${'x'.repeat(5000)}`]) {
      const response = await fetch(`${stack.baseUrl}/api/experiments`, { headers: header === undefined ? {} : { authorization: header } });
      expect([header, response.status]).toEqual([header, 401]);
    }
    const before = (await keys()).length;
    for (const [body, field] of [
      [{ scopes: ['read'] }, 'name'],
      [{ name: '', scopes: ['read'] }, 'name'],
      [{ name: 'startup', scopes: ['admin'] }, 'name'],
      [{ name: 'x', scopes: [] }, 'scopes'],
      [{ name: 'x', scopes: ['root'] }, 'scopes.0'],
      [{ name: 'x', scopes: ['read'], rateLimit: 0 }, 'rateLimit'],
      [{ name: 'x', scopes: ['read'], rateLimit: 1.5 }, 'rateLimit'],
      [{ name: 'x', scopes: ['read'], hash: 'abc' }, 'hash'],
    ] as const) {
      const response = await create(body);
      expect([body, response.status]).toEqual([body, 400]);
      expect((response.body as { issues: { field: string }[] }).issues.map((i) => i.field)).toContain(field);
    }
    expect((await keys()).length).toBe(before);
  });

  it('limits each key to its rate: 429 with Retry-After, other keys unaffected', async () => {
    const limited = (await create({ name: 'slow client', scopes: ['read'], rateLimit: 5 })).body as KeyView;
    const get = (key: string) => fetch(`${stack.baseUrl}/api/workers`, { headers: { authorization: `Bearer ${key}` } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(limited.key!)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const refused = await get(limited.key!);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(120);
    expect(((await refused.json()) as { message: string }).message).toContain('5 requests a minute');
    expect((await get(stack.apiKey)).status).toBe(200);
  });

  it('a database error is a 500 that shows no SQL and no stack', async () => {
    await sqlite(stack.dbPath, 'ALTER TABLE "experiments" RENAME TO "experiments_hidden"');
    try {
      const response = await stack.request('GET', '/api/experiments?filter=' + encodeURIComponent("model.family = 'cnn'"));
      expect(response.status).toBe(500);
      expect(response.body).toEqual({ statusCode: 500, message: 'internal error' });
      expect(stack.output.join('')).toMatch(/no such table/);
    } finally {
      await sqlite(stack.dbPath, 'ALTER TABLE "experiments_hidden" RENAME TO "experiments"');
    }
    expect((await stack.request('GET', '/api/experiments')).status).toBe(200);
  });

  it('refuses to revoke the last active admin key (409); with a second admin key the first can go', async () => {
    const startup = (await keys()).find((k) => k.name === 'startup')!;
    expect((await stack.request('DELETE', `/api/keys/${startup.id}`)).status).toBe(409);
    const second = (await create({ name: 'ops', scopes: ['admin', 'read'] })).body as KeyView;
    expect(second.scopes).toEqual(['admin', 'read']);
    expect((await stack.request('DELETE', `/api/keys/${startup.id}`)).status).toBe(200);
    expect((await stack.request('GET', '/api/experiments')).status).toBe(401);
    expect((await stack.request('DELETE', `/api/keys/${second.id}`, undefined, second.key)).status).toBe(409);
    expect((await stack.request('GET', '/api/keys', undefined, second.key)).status).toBe(200);
  });
});

describe('API keys with the control plane on PostgreSQL', () => {
  let db: TestDatabase;
  let stack: TestStack;

  beforeAll(async () => {
    db = await createTestDatabase('tfleet_keys');
    stack = await startTestStack({ workers: 0, env: { DATABASE_URL: db.url } });
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    await db?.drop();
  });

  it('creates, lists, checks scopes, revokes and keeps the last admin key', async () => {
    const read = (await stack.request('POST', '/api/keys', { name: 'pg reader', scopes: ['read'], rateLimit: 1000 })).body as KeyView;
    expect(read).toMatchObject({ name: 'pg reader', scopes: ['read'], rateLimit: 1000, revokedAt: null });
    expect((await stack.request('GET', '/api/experiments', undefined, read.key)).status).toBe(200);
    expect((await stack.request('POST', '/api/queue/pause', undefined, read.key)).status).toBe(403);
    const listed = ((await stack.request('GET', '/api/keys')).body as { keys: KeyView[] }).keys;
    expect(listed.map((k) => [k.name, k.scopes])).toEqual([
      ['startup', ['admin']],
      ['pg reader', ['read']],
    ]);
    expect((await stack.request('DELETE', `/api/keys/${read.id}`)).status).toBe(200);
    expect((await stack.request('GET', '/api/experiments', undefined, read.key)).status).toBe(401);
    expect((await stack.request('DELETE', `/api/keys/${listed[0]!.id}`)).status).toBe(409);
  });
});
