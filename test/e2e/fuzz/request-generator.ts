/**
 * Generates bad HTTP requests for every endpoint of the API, from a seed: the same seed gives the
 * same requests, so a failure can be replayed (TFLEET_FUZZ_SEED).
 *
 * Every request that carries a key allowed to change something, to a route that changes
 * something, is invalid by construction (at least one mutation no valid request has: malformed
 * JSON, an unknown field, a wrong type on a required field, an unknown id, a body over the
 * limit), so it must not store anything. Reads may be valid or not; they store nothing anyway.
 */

/** mulberry32: small, fast, and the same sequence on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzRequest {
  method: string;
  /** Path and query, already encoded as they go on the wire (may be malformed on purpose). */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Which endpoint (method + route) this aims at, for the per-endpoint counts. */
  endpoint: string;
  /** True when the request must not change anything: it has to be answered with a non-2xx status. */
  mustFail: boolean;
}

/** The keys the fuzzer holds: an admin key, a read key, and a revoked key. */
export interface FuzzKeys {
  admin: string;
  read: string;
  revoked: string;
}

/** Ids that exist; mutating routes only ever get them with a key that may not mutate. */
export interface FuzzIds {
  experiments: string[];
  keys: string[];
}

type Rand = () => number;

/** Every UTF-8 byte as %XX: unlike encodeURIComponent it takes lone surrogates (as U+FFFD). */
const percentEncode = (text: string): string => [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const chance = (rand: Rand, p: number): boolean => rand() < p;

/** Every route in main at the time of writing (from the controllers), and the unknown. */
export const ENDPOINTS = [
  'POST /api/experiments',
  'GET /api/experiments',
  'GET /api/experiments/:id',
  'GET /api/experiments/:id/metrics',
  'GET /api/experiments/:id/checkpoints',
  'POST /api/experiments/:id/cancel',
  'GET /api/leaderboard',
  'GET /api/boards',
  'GET /api/compare',
  'GET /api/workers',
  'GET /api/queue',
  'POST /api/queue/pause',
  'POST /api/queue/resume',
  'GET /api/health',
  'POST /api/keys',
  'GET /api/keys',
  'DELETE /api/keys/:id',
  'GET /docs',
  'UNKNOWN',
] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

const WEIRD_STRINGS = [
  '',
  ' ',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  "' OR 1=1 --",
  '"; DROP TABLE experiments; --',
  'null',
  'undefined',
  'NaN',
  '-0',
  '1e309',
  '\u0000',
  '\u202e\u0645\u0631\u062d\u0628\u0627',
  '\ud83d\ude80\ud83d\udd25',
  '\ud800',
  'e\u0301\u0301\u0301',
  '\u00ff\u00fe',
  '%00',
  '${7*7}',
  '{{7*7}}',
  '../../etc/passwd',
  'a'.repeat(300),
] as const;

const WEIRD_NUMBERS = [0, -0, -1, -1e308, 1e308, 2 ** 53 + 1, -(2 ** 53) - 1, 1e-320, 0.5, -0.0001, 4294967296, 2 ** 31, 1.7976931348623157e308] as const;

/** A value of any JSON type, sometimes nested, sometimes strange. */
function randomValue(rand: Rand, depth = 0): unknown {
  const roll = rand();
  if (roll < 0.2) return pick(rand, WEIRD_NUMBERS);
  if (roll < 0.4) return pick(rand, WEIRD_STRINGS);
  if (roll < 0.5) return pick(rand, [true, false, null]);
  if (depth > 3 || roll < 0.7) return Math.floor(rand() * 2000) - 1000;
  if (roll < 0.85) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
  const out: Record<string, unknown> = {};
  for (let i = 0; i < Math.floor(rand() * 4); i++) out[pick(rand, WEIRD_STRINGS)] = randomValue(rand, depth + 1);
  return out;
}

/** Something of a different JSON type than `value`. */
function wrongTypeFor(rand: Rand, value: unknown): unknown {
  const candidates: unknown[] = [123, -1, 'text', true, null, [], {}, [value], { value }];
  const typeOf = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
  const different = candidates.filter((c) => typeOf(c) !== typeOf(value));
  return pick(rand, different);
}

function deepNesting(rand: Rand, depth: number): string {
  const open = chance(rand, 0.5) ? '[' : '{"a":';
  const close = open === '[' ? ']' : '}';
  return open.repeat(depth) + '1' + close.repeat(depth);
}

/** A valid experiment spec, the base the mutations start from. */
function validSpec(rand: Rand): Record<string, unknown> {
  return pick(rand, [
    { dataset: { name: 'mnist' }, model: { family: 'cnn' } },
    { name: 'fuzz', dataset: { name: 'mnist', samples: 200 }, model: { family: 'cnn', denseUnits: [16] }, training: { epochs: 1, batchSize: 32, learningRate: 0.01 } },
    { dataset: { name: 'brown' }, model: { family: 'lstm', units: 32 }, training: { optimizer: 'sgd', seed: 3 } },
    { dataset: { name: 'adding' }, model: { family: 'gru' }, training: { maxSteps: 10, priority: 5 } },
    { dataset: { name: 'synthetic-images', classes: 4 }, model: { family: 'cnn', blocks: [] } },
  ]);
}

function validKeyBody(rand: Rand): Record<string, unknown> {
  return pick(rand, [{ name: 'ci', scopes: ['read'] }, { name: 'ops', scopes: ['admin'], rateLimit: 100 }, { name: 'both', scopes: ['read', 'admin'], rateLimit: null }]);
}

/** Paths to the objects inside a value (for placing unknown keys) and to its leaves (for wrong types). */
function pathsOf(value: unknown, prefix: string[] = []): { objects: string[][]; leaves: string[][] } {
  const objects: string[][] = [];
  const leaves: string[][] = [];
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    objects.push(prefix);
    for (const [k, v] of Object.entries(value)) {
      leaves.push([...prefix, k]);
      const inner = pathsOf(v, [...prefix, k]);
      objects.push(...inner.objects);
      leaves.push(...inner.leaves);
    }
  }
  return { objects, leaves };
}

function getAt(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], value);
}

/** Sets with defineProperty so that `__proto__` becomes an own key, as JSON.parse would make it. */
function setAt(value: Record<string, unknown>, path: string[], to: unknown): void {
  const parent = getAt(value, path.slice(0, -1)) as Record<string, unknown>;
  Object.defineProperty(parent, path[path.length - 1]!, { value: to, enumerable: true, writable: true, configurable: true });
}

/**
 * A JSON body that is invalid for its route. `required` are top-level fields that every valid
 * body has (a wrong type there is always invalid).
 */
function invalidJsonBody(rand: Rand, base: Record<string, unknown>, required: readonly string[]): string {
  const body = structuredClone(base);
  // Extra mutations that may or may not be valid on their own: huge, negative, odd numbers and strings.
  for (let i = 0; i < Math.floor(rand() * 3); i++) {
    const leaf = pick(rand, pathsOf(body).leaves);
    setAt(body, leaf, chance(rand, 0.5) ? pick(rand, WEIRD_NUMBERS) : pick(rand, WEIRD_STRINGS));
  }
  // The mutation that makes it invalid for sure.
  const kind = Math.floor(rand() * 4);
  if (kind === 0) {
    const { objects } = pathsOf(body);
    const at = pick(rand, objects);
    setAt(body, [...at, pick(rand, ['__proto__', 'constructor', 'prototype', '\u0645\u0631\u062d\u0628\u0627', '\ud83d\ude80', 'x-extra', ''])], randomValue(rand));
  } else if (kind === 1) {
    const field = pick(rand, required);
    setAt(body, [field], wrongTypeFor(rand, base[field]));
  } else if (kind === 2) {
    const field = pick(rand, required);
    const nested = deepNesting(rand, pick(rand, [64, 1_000, 10_000]));
    const text = JSON.stringify({ ...body, [field]: '__NESTED__' });
    return text.replace('"__NESTED__"', nested);
  } else {
    const field = pick(rand, required);
    delete body[field];
    if (chance(rand, 0.5)) Object.defineProperty(body, '__proto__', { value: { [field]: base[field] }, enumerable: true });
  }
  return JSON.stringify(body);
}

function malformedJson(rand: Rand, base: Record<string, unknown>): string {
  const text = JSON.stringify(base);
  return pick(rand, [
    text.slice(0, Math.max(1, Math.floor(rand() * text.length))),
    text.replace(/"/g, "'"),
    text.replace('}', ',}'),
    `${text}${text}`,
    `\ufeff${text}x`,
    '{"a":}',
    '[',
    '{"a":NaN}',
    '{"a":1e99999999999}x',
    '{"a":"\\ud800"',
    'null x',
    '\u0000',
    '{"__proto__":',
    `{"constructor":{"prototype":{"polluted":1}}`,
  ]);
}

function weirdId(rand: Rand): string {
  return pick(rand, [
    '00000000-0000-4000-8000-000000000000',
    'not-a-uuid',
    '%00',
    '%E0%A4%A',
    '%',
    '%2e%2e%2f%2e%2e',
    percentEncode("' OR 1=1 --"),
    percentEncode('\u202e\ud83d\ude80'),
    '__proto__',
    'constructor',
    'a'.repeat(5_000),
    '-1',
    '1e309',
    percentEncode('"><script>'),
    '%C0%AF',
  ]);
}

function weirdQuery(rand: Rand, names: readonly string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < 1 + Math.floor(rand() * 4); i++) {
    const name = chance(rand, 0.8) ? pick(rand, names) : pick(rand, ['__proto__', 'constructor', 'x', 'filter[$gt]', '%', '']);
    const value = pick(rand, [
      () => percentEncode(String(pick(rand, WEIRD_NUMBERS))),
      () => percentEncode(pick(rand, WEIRD_STRINGS)),
      () => pick(rand, ['%', '%E0%A4%A', '%00', '+', '&&', '==']),
      () => percentEncode(pick(rand, ["model.family = 'cnn' AND (", 'metrics.accuracy >', "status IN ('a'", 'NOT NOT NOT', '((((((((((((((((1', 'training.learningRate < 1e999'])),
      () => percentEncode(Array.from({ length: 600 }, (_, j) => `id${j}`).join(',')),
      () => 'x'.repeat(4_000),
      () => String(Math.floor(rand() * 200) - 50),
      () => pick(rand, ['mnist', 'accuracy', 'loss', 'desc', 'asc', 'best', 'mean', 'config', 'training.learningRate', 'queued']),
    ])();
    parts.push(`${name}=${value}`);
  }
  return parts.join('&');
}

const QUERY_NAMES: Partial<Record<Endpoint, readonly string[]>> = {
  'GET /api/experiments': ['page', 'pageSize', 'status', 'filter'],
  'GET /api/leaderboard': ['dataset', 'metric', 'order', 'limit', 'family', 'filter', 'board', 'aggregate', 'groupBy'],
  'GET /api/boards': ['dataset'],
  'GET /api/compare': ['ids', 'points'],
};

type AuthKind = 'admin' | 'read' | 'revoked' | 'none' | 'bad';

function authHeader(rand: Rand, keys: FuzzKeys, kind: AuthKind): string | undefined {
  if (kind === 'admin') return `Bearer ${keys.admin}`;
  if (kind === 'read') return `Bearer ${keys.read}`;
  if (kind === 'revoked') return `Bearer ${keys.revoked}`;
  if (kind === 'none') return undefined;
  return pick(rand, [
    '',
    'Bearer',
    'Bearer ',
    `bearer ${keys.admin}`,
    `Basic ${Buffer.from(`user:${keys.admin}`).toString('base64')}`,
    `Bearer ${keys.admin.slice(0, -1)}`,
    // (Not a trailing space: HTTP trims it, so that header is the admin key.)
    `Bearer ${keys.admin}.`,
    `Bearer  ${keys.admin}`,
    `Bearer ${keys.admin}${keys.admin}`,
    `Bearer ${'A'.repeat(8_000)}`,
    `Bearer \u00ff\u00fe${keys.admin}`,
    `Bearer ${keys.admin.toUpperCase()}`,
    'Bearer null',
    'Bearer undefined',
    'Bearer __proto__',
  ]);
}

/** The next request. Deterministic for a given `rand` state. */
export function nextRequest(rand: Rand, keys: FuzzKeys, ids: FuzzIds, bodyLimitBytes: number): FuzzRequest {
  const endpoint = pick(rand, ENDPOINTS);
  const [method, route] = endpoint === 'UNKNOWN' ? [pick(rand, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']), pick(rand, ['/api/nope', '/api/experiments/x/y/z', '/api', '/', '/api/keys/x/y', '/api/%'])] : endpoint.split(' ');
  const authKind = pick(rand, ['admin', 'admin', 'admin', 'admin', 'admin', 'read', 'revoked', 'none', 'bad'] as const);
  const mutates = method !== 'GET' && method !== 'HEAD';
  // Only the admin key may change things; any other key on a mutating route must be refused.
  const mayChange = mutates && authKind === 'admin';

  const headers: Record<string, string> = {};
  const auth = authHeader(rand, keys, authKind);
  if (auth !== undefined) headers['authorization'] = auth;

  let path = route!;
  if (path.includes(':id')) {
    const real = endpoint.includes('keys') ? ids.keys : ids.experiments;
    // Real ids only where the request cannot change them (a read, or a key that may not change).
    const id = (!mayChange || !mutates) && real.length > 0 && chance(rand, 0.4) ? pick(rand, real) : weirdId(rand);
    path = path.replace(':id', id);
  }
  const queryNames = QUERY_NAMES[endpoint as Endpoint];
  if (queryNames !== undefined && chance(rand, 0.9)) path += `?${weirdQuery(rand, queryNames)}`;
  else if (chance(rand, 0.15)) path += `?${weirdQuery(rand, ['x', '__proto__', 'page'])}`;

  let body: string | undefined;
  const hasBody = mutates ? chance(rand, 0.95) : chance(rand, 0.1);
  if (hasBody) {
    const base = endpoint === 'POST /api/keys' ? validKeyBody(rand) : validSpec(rand);
    const required = endpoint === 'POST /api/keys' ? ['name', 'scopes'] : ['dataset', 'model'];
    const roll = rand();
    if (roll < 0.4) body = malformedJson(rand, base);
    else if (roll < 0.97) body = invalidJsonBody(rand, base, required);
    else body = JSON.stringify({ ...base, name: 'x'.repeat(bodyLimitBytes + 1_000) });
    if (chance(rand, 0.05)) headers['content-encoding'] = pick(rand, ['gzip', 'deflate', 'br', 'compress', 'x-unknown']);
    headers['content-type'] = pick(rand, ['application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1']);
  }
  // Pause and resume take no body and act on any request that reaches them: with the admin key
  // they only ever get a body the JSON parser refuses.
  if (mayChange && (endpoint === 'POST /api/queue/pause' || endpoint === 'POST /api/queue/resume')) {
    body = malformedJson(rand, validSpec(rand));
    headers['content-type'] = 'application/json';
    delete headers['content-encoding'];
  }
  if (mayChange && (endpoint === 'POST /api/experiments' || endpoint === 'POST /api/keys') && body === undefined) {
    body = malformedJson(rand, validSpec(rand));
    headers['content-type'] = 'application/json';
  }
  return { method, path, headers, body: body === undefined ? undefined : Buffer.from(body, 'utf8'), endpoint, mustFail: mayChange };
}
