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
  /** Queued experiments. */
  experiments: string[];
  /** A completed experiment with a model: export and predict answer for it. */
  completed: string;
  sweeps: string[];
  keys: string[];
}

type Rand = () => number;

/** Every UTF-8 byte as %XX: unlike encodeURIComponent it takes lone surrogates (as U+FFFD). */
const percentEncode = (text: string): string => [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const chance = (rand: Rand, p: number): boolean => rand() < p;

/**
 * Every route: the controllers' (`METHOD /path`, as route-table.ts reads them from the build; the
 * test fails when one is missing here) and what is mounted on Express beside them (`MOUNT /path`),
 * and the unknown.
 */
export const ENDPOINTS = [
  'POST /api/experiments',
  'GET /api/experiments',
  'GET /api/experiments/:id',
  'GET /api/experiments/:id/metrics',
  'GET /api/experiments/:id/checkpoints',
  'POST /api/experiments/:id/cancel',
  'POST /api/experiments/:id/resume',
  'GET /api/experiments/:id/model/model.json',
  'GET /api/experiments/:id/model/weights.bin',
  'GET /api/experiments/:id/model/task.json',
  'POST /api/experiments/:id/predict',
  'GET /api/experiments/events',
  'GET /api/experiments/:id/events',
  'POST /api/sweeps',
  'GET /api/sweeps',
  'GET /api/sweeps/:id',
  'POST /api/sweeps/:id/cancel',
  'POST /api/sweeps/:id/rerun-failed',
  'POST /api/shootouts',
  'GET /api/shootouts/:id',
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
  'GET /metrics',
  'MOUNT /docs',
  'MOUNT /queues',
  'MOUNT /',
  'MOUNT /vendor/uplot',
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

/** A valid sweep request, the base the mutations start from. */
function validSweepBody(rand: Rand): Record<string, unknown> {
  return pick(rand, [
    { base: validSpec(rand), method: 'grid', space: { 'training.learningRate': { values: [0.01, 0.1] } } },
    { name: 'fuzz-sweep', base: validSpec(rand), method: 'random', samples: 3, space: { 'training.learningRate': { logUniform: [0.001, 0.1] } }, seeds: [1, 2] },
    { base: validSpec(rand), method: 'grid', space: { 'training.epochs': { int: [1, 3] } }, earlyStopping: { method: 'asha', metric: 'loss', mode: 'min', maxEpochs: 3 } },
  ]);
}

const thousandValues = () => ({ values: Array.from({ length: 1_000 }, (_, i) => i + 1) });

/** Sweeps far over the limits (10^9 configurations, an int range of 2^53, JSON nested 10^4 deep): a 400, never an allocation or a stack overflow. */
function hugeSweepBody(rand: Rand): Record<string, unknown> {
  const base = { dataset: { name: 'mnist' }, model: { family: 'cnn' } };
  return pick(rand, [
    { base, method: 'grid', space: { 'training.epochs': thousandValues(), 'training.batchSize': thousandValues(), 'model.denseUnits.0': thousandValues() } },
    { base, method: 'grid', space: { 'training.epochs': { int: [1, 1_000_000_000] } } },
    { base, method: 'grid', space: { 'training.epochs': { int: [-(2 ** 53) + 1, 2 ** 53 - 1] } } },
    { base, method: 'grid', space: { 'training.epochs': { int: [1, 1_000] }, 'training.batchSize': { int: [1, 1_000] } }, seeds: [1, 2, 3] },
    { base, method: 'random', samples: 1_000, space: { 'training.learningRate': { uniform: [0, 1] } }, seeds: Array.from({ length: 100 }, (_, i) => i) },
    { base, method: 'random', samples: 1e9, space: { 'training.learningRate': { uniform: [0, 1] } } },
    // Deep where the schema takes any JSON: a listed value, and the base spec (spliced in as text: no recursion here either).
    { base, method: 'grid', space: { 'training.learningRate': { values: [0.1, '__NESTED__'] } } },
    { base: { ...base, model: '__NESTED__' }, method: 'grid', space: { 'training.learningRate': { values: [0.1] } } },
  ]);
}

function validShootoutBody(rand: Rand): Record<string, unknown> {
  return pick(rand, [{ suite: 'mnist', seeds: [1] }, { suite: 'mnist', seeds: [1, 2], epochs: 1, maxConcurrent: 2 }]);
}

/** A 28-row image of `width` pixels per row. */
const image = (rows: number, width: number, pixel: unknown = 0.5) => Array.from({ length: rows }, () => Array.from({ length: width }, () => pixel));

/**
 * Predict bodies that are wrong for an MNIST model (28x28 image): other shapes, other kinds of
 * input, NaN-like strings, non-finite numbers, arrays over the limits, unknown keys.
 */
function invalidPredictBody(rand: Rand): string {
  return pick(rand, [
    () => JSON.stringify({ image: image(27, 28) }),
    () => JSON.stringify({ image: image(28, 27) }),
    () => JSON.stringify({ image: image(28, 28, [0.1, 0.2, 0.3]) }),
    () => JSON.stringify({ image: image(28, 28, [0.1, 0.2, 0.3, 0.4, 0.5]) }),
    () => JSON.stringify({ image: image(1, 1) }),
    () => JSON.stringify({ image: [] }),
    () => JSON.stringify({ image: [[]] }),
    () => JSON.stringify({ image: image(28, 28, pick(rand, ['NaN', 'Infinity', '-Infinity', '1e309', '0x1f', '', null, true, {}, []])) }),
    () => JSON.stringify({ image: image(28, 28) }).replace('0.5', pick(rand, ['NaN', 'Infinity', '-Infinity', '1e309', '-1e309'])),
    () => JSON.stringify({ image: image(257, 1) }),
    () => JSON.stringify({ image: image(1, 257) }),
    () => JSON.stringify({ image: image(28, 28).map((row, i) => (i === 13 ? row.slice(0, 5) : row)) }),
    () => JSON.stringify({ image: 'NaN' }),
    () => JSON.stringify({ image: image(28, 28), extra: 1 }),
    () => JSON.stringify({ image: image(28, 28), __proto__: { polluted: true } }).replace('"image"', '"__proto__":{"x":1},"image"'),
    () => JSON.stringify({ sequence: [[0.5, 1]] }),
    () => JSON.stringify({ prompt: 'the', count: 5 }),
    () => JSON.stringify({ word: 'hello' }),
    () => JSON.stringify({ tokens: Array.from({ length: 1_001 }, () => 1) }),
    () => JSON.stringify({ text: 'free money' }),
    () => JSON.stringify({ sequence: Array.from({ length: 10_001 }, () => [1]) }),
    () => JSON.stringify(pick(rand, [null, [], 'image', 42, {}])),
    () => JSON.stringify({ image: randomValue(rand) }),
    () => deepNesting(rand, pick(rand, [64, 1_000, 10_000])).replace(/^(\[|\{"a":)/, '{"image":'),
  ])();
}

const QUEUE_NAMES = ['experiments', 'run-events', 'nope', '__proto__', '%00', 'a'.repeat(300)] as const;
const QUEUE_STATUSES = ['completed', 'failed', 'waiting', 'active', 'delayed', 'paused', 'latest', 'x', '%'] as const;

/** Paths into bull-board at /queues: its pages, its read API, and its writing API (read-only here). */
function queueBoardRequest(rand: Rand): { method: string; path: string; mutates: boolean; noOp: boolean } {
  const queue = pick(rand, QUEUE_NAMES);
  const job = pick(rand, ['1', '00000000-0000-4000-8000-000000000000', '%00', '-1', 'a'.repeat(2_000), '__proto__']);
  const status = pick(rand, QUEUE_STATUSES);
  const read = (path: string) => ({ method: 'GET', path, mutates: false, noOp: false });
  const write = (method: string, path: string, noOp = false) => ({ method, path, mutates: true, noOp });
  return pick(rand, [
    () => read('/queues'),
    () => read('/queues/'),
    () => read(`/queues/queue/${queue}`),
    () => read(`/queues/queue/${queue}/${job}`),
    () => read(`/queues/api/queues?activeQueue=${queue}&status=${status}&page=${pick(rand, ['1', '-1', '1e309', 'x', '99999999'])}&jobsPerPage=${pick(rand, ['10', '0', '-5', '1000000', 'NaN'])}`),
    () => read('/queues/api/queues'),
    () => read('/queues/api/redis/stats'),
    () => read(`/queues/api/queues/${queue}/${job}`),
    () => read(`/queues/api/queues/${queue}/${job}/logs`),
    () => read(`/queues/api/queues/${queue}/metrics`),
    () => read(`/queues/static/${pick(rand, ['..%2f..%2fpackage.json', '../../../package.json', 'x.js', '%00'])}`),
    // Pausing or resuming every writable queue answers 200 and does nothing on a board where every queue is read-only.
    () => write('PUT', '/queues/api/queues/pause', true),
    () => write('PUT', '/queues/api/queues/resume', true),
    () => write('PUT', `/queues/api/queues/${queue}/clean/${status}`),
    () => write('PUT', `/queues/api/queues/${queue}/retry/${status}`),
    () => write('PUT', `/queues/api/queues/${queue}/empty`),
    () => write('PUT', `/queues/api/queues/${queue}/obliterate`),
    () => write('PUT', `/queues/api/queues/${queue}/pause`),
    () => write('PUT', `/queues/api/queues/${queue}/promote`),
    () => write('POST', `/queues/api/queues/${queue}/add`),
    () => write('PUT', `/queues/api/queues/${queue}/${job}/retry`),
    () => write('PUT', `/queues/api/queues/${queue}/${job}/clean`),
    () => write('PATCH', `/queues/api/queues/${queue}/${job}/priority`),
    () => write('PATCH', `/queues/api/queues/${queue}/${job}/update-data`),
    () => write('DELETE', `/queues/api/queues/${queue}/${job}`),
  ])();
}

/** Files of the dashboard and uPlot, and ways out of their directories that must not lead anywhere. */
function staticPath(rand: Rand, mount: '/' | '/vendor/uplot'): string {
  const escapes = ['..%2f..%2f..%2fpackage.json', '%2e%2e/%2e%2e/%2e%2e/etc/passwd', '..%5c..%5cpackage.json', '....//....//etc/passwd', '%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd', '%00', '%', '.env', '..', '%2e%2e'];
  const files = mount === '/' ? ['', 'index.html', 'styles.css', 'js/api.js', 'js/chart.js', 'js/api.js.map', 'nope.html', 'js/'] : ['uPlot.iife.min.js', 'uPlot.min.css', 'uPlot.esm.js', 'nope.js', ''];
  const file = chance(rand, 0.35) ? pick(rand, escapes) : pick(rand, files);
  return mount === '/' ? `/${file}` : `/vendor/uplot/${file}`;
}

/** Body of a route that takes one: the valid base it mutates, and the fields every valid body has. */
function bodyBase(rand: Rand, endpoint: Endpoint): { base: Record<string, unknown>; required: readonly string[] } {
  if (endpoint === 'POST /api/keys') return { base: validKeyBody(rand), required: ['name', 'scopes'] };
  if (endpoint === 'POST /api/sweeps') return { base: validSweepBody(rand), required: ['base', 'space', 'method'] };
  if (endpoint === 'POST /api/shootouts') return { base: validShootoutBody(rand), required: ['suite', 'seeds'] };
  return { base: validSpec(rand), required: ['dataset', 'model'] };
}

/** Routes that create something from their body: with the admin key they only ever get a body that is invalid. */
const CREATES: readonly Endpoint[] = ['POST /api/experiments', 'POST /api/keys', 'POST /api/sweeps', 'POST /api/shootouts'];
/** Routes that act on any request that reaches them (no body, no id): with the admin key, only a body the JSON parser refuses. */
const ACTS_WITHOUT_BODY: readonly Endpoint[] = ['POST /api/queue/pause', 'POST /api/queue/resume'];
const SSE_HEADERS = ['accept', 'last-event-id', 'cache-control'] as const;

/** The next request. Deterministic for a given `rand` state. */
export function nextRequest(rand: Rand, keys: FuzzKeys, ids: FuzzIds, bodyLimitBytes: number): FuzzRequest {
  const endpoint = pick(rand, ENDPOINTS);
  const authKind = pick(rand, ['admin', 'admin', 'admin', 'admin', 'admin', 'read', 'revoked', 'none', 'bad'] as const);
  const headers: Record<string, string> = {};
  const auth = authHeader(rand, keys, authKind);
  if (auth !== undefined) headers['authorization'] = auth;

  if (endpoint === 'MOUNT /queues') {
    const board = queueBoardRequest(rand);
    // The board takes the key as a Bearer token or as the password of HTTP Basic (what a browser sends).
    if (authKind === 'read' && chance(rand, 0.5)) headers['authorization'] = `Basic ${Buffer.from(`${pick(rand, ['', 'ops', '\u00ff'])}:${keys.read}`).toString('base64')}`;
    if (authKind === 'bad' && chance(rand, 0.5)) headers['authorization'] = pick(rand, ['Basic', 'Basic !!!', `Basic ${Buffer.from(keys.admin).toString('base64')}`, `Basic ${Buffer.from(`:${keys.revoked}`).toString('base64')}`, `Basic ${'QUFB'.repeat(3_000)}`]);
    let body: Buffer | undefined;
    if (board.mutates && chance(rand, 0.6)) {
      body = Buffer.from(chance(rand, 0.5) ? malformedJson(rand, { name: 'x', data: {} }) : JSON.stringify({ name: 'fuzz', data: randomValue(rand), options: { priority: pick(rand, WEIRD_NUMBERS) } }), 'utf8');
      headers['content-type'] = 'application/json';
    }
    // Every queue on the board is read-only: nothing that writes may succeed, whatever the key.
    return { method: board.method, path: board.path, headers, body, endpoint, mustFail: board.mutates && !board.noOp };
  }
  if (endpoint === 'MOUNT /' || endpoint === 'MOUNT /vendor/uplot') {
    const method = pick(rand, ['GET', 'GET', 'GET', 'HEAD', 'POST', 'DELETE']);
    let path = staticPath(rand, endpoint === 'MOUNT /' ? '/' : '/vendor/uplot');
    if (chance(rand, 0.2)) path += `?${weirdQuery(rand, ['v', '__proto__'])}`;
    if (chance(rand, 0.2)) headers['range'] = pick(rand, ['bytes=0-10', 'bytes=-1', 'bytes=99999999-', 'bytes=5-1', 'bytes=0-1,2-3,4-5,6-7,8-9,10-11,12-13,14-15,16-17', 'chars=0-1', 'bytes=%']);
    if (chance(rand, 0.1)) headers['if-none-match'] = pick(rand, ['*', '"x"', 'W/""', '\u00ff']);
    if (chance(rand, 0.1)) headers['if-modified-since'] = pick(rand, ['yesterday', 'Thu, 01 Jan 1970 00:00:00 GMT', '9'.repeat(100)]);
    return { method, path, headers, endpoint, mustFail: false };
  }

  const [method, route] = endpoint === 'UNKNOWN' ? [pick(rand, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']), pick(rand, ['/api/nope', '/api/experiments/x/y/z', '/api', '/api/keys/x/y', '/api/%', '/api/sweeps/x/y', '/metrics/x', '/api/experiments/events/x'])] : endpoint === 'MOUNT /docs' ? ['GET', pick(rand, ['/docs', '/docs/', '/docs-json', '/docs/swagger-ui.css', '/docs/%2e%2e/%2e%2e/package.json'])] : endpoint.split(' ');
  const isPredict = endpoint === 'POST /api/experiments/:id/predict';
  // Predict stores nothing: it gets the completed experiment even with the admin key, always with a body that is wrong for it.
  const mutates = method !== 'GET' && method !== 'HEAD' && !isPredict;
  // Only the admin key may change things; any other key on a mutating route must be refused.
  const mayChange = mutates && authKind === 'admin';

  let path = route!;
  if (path.includes(':id')) {
    const real = endpoint.includes('keys') ? ids.keys : endpoint.includes('sweeps') || endpoint.includes('shootouts') ? ids.sweeps : isPredict || endpoint.includes('/model/') ? [ids.completed] : [...ids.experiments, ids.completed];
    // Real ids only where the request cannot change them (a read, or a key that may not change).
    const id = !mayChange && real.length > 0 && chance(rand, isPredict ? 0.8 : 0.4) ? pick(rand, real) : weirdId(rand);
    path = path.replace(':id', id);
  }
  const queryNames = QUERY_NAMES[endpoint as Endpoint];
  if (queryNames !== undefined && chance(rand, 0.9)) path += `?${weirdQuery(rand, queryNames)}`;
  else if (chance(rand, 0.15)) path += `?${weirdQuery(rand, ['x', '__proto__', 'page'])}`;
  if (endpoint.endsWith('/events') && chance(rand, 0.7)) headers[pick(rand, SSE_HEADERS)] = pick(rand, ['text/event-stream', '*/*', 'application/json', '-1', '99999999999999999999', '\u00ff', 'no-cache', 'a'.repeat(4_000), '__proto__']);

  let body: string | undefined;
  const hasBody = isPredict ? chance(rand, 0.97) : mutates ? chance(rand, 0.95) : chance(rand, 0.1);
  if (hasBody) {
    const { base, required } = bodyBase(rand, endpoint as Endpoint);
    const roll = rand();
    if (isPredict && roll < 0.75) body = invalidPredictBody(rand);
    else if (endpoint === 'POST /api/sweeps' && roll < 0.25) body = JSON.stringify(hugeSweepBody(rand)).replace('"__NESTED__"', deepNesting(rand, pick(rand, [64, 10_000, 20_000])));
    else if (roll < 0.4) body = malformedJson(rand, base);
    else if (roll < 0.97) body = invalidJsonBody(rand, base, required);
    else body = JSON.stringify({ ...base, name: 'x'.repeat(bodyLimitBytes + 1_000) });
    if (chance(rand, 0.05)) headers['content-encoding'] = pick(rand, ['gzip', 'deflate', 'br', 'compress', 'x-unknown']);
    headers['content-type'] = pick(rand, ['application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1']);
  }
  if (mayChange && ACTS_WITHOUT_BODY.includes(endpoint as Endpoint)) {
    body = malformedJson(rand, validSpec(rand));
    headers['content-type'] = 'application/json';
    delete headers['content-encoding'];
  }
  if ((mayChange && CREATES.includes(endpoint as Endpoint)) || isPredict) {
    // A body the JSON parser never sees (another content type) is no body: make sure an invalid one arrives.
    if (body === undefined || headers['content-type']?.startsWith('application/json') !== true) {
      body = isPredict ? invalidPredictBody(rand) : malformedJson(rand, validSpec(rand));
      headers['content-type'] = 'application/json';
    }
  }
  // A predict with the admin key on the completed experiment is refused for its body; anything else for its id or key.
  return { method, path, headers, body: body === undefined ? undefined : Buffer.from(body, 'utf8'), endpoint, mustFail: mayChange || isPredict };
}
