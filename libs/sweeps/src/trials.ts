import { createHash } from 'node:crypto';
import { canonicalJson, type ExperimentSpec, parseExperimentSpec, type SpecIssue } from '@tfleet/contracts';
import { MAX_TRIALS, type SpaceDimension, type SweepRequest } from './sweep-request';

/** One configuration of the space: a value per spec path. */
export type Assignment = Record<string, unknown>;

export interface TrialPlan {
  /** Deterministic experiment id (a UUID): the sweep's content, the configuration and the seed. */
  id: string;
  /** 0-based position: configurations in order, seeds within each. */
  index: number;
  /** 0-based configuration number; trials of one configuration differ only in the seed. */
  config: number;
  assignment: Assignment;
  seed: number;
  spec: ExperimentSpec;
}

export type PlanResult = { ok: true; key: string; id: string; trials: TrialPlan[] } | { ok: false; issues: SpecIssue[] };

/** 128 bits of a SHA-256 as a UUID (version 8, RFC 9562's custom layout), so it passes every uuid check. */
export function uuidFromHash(text: string): string {
  const hex = createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 32).split('');
  hex[12] = '8';
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The sweep's content, canonical: posting the same content again is the same sweep. */
export function sweepKeyOf(request: SweepRequest): string {
  return createHash('sha256').update(`tfleet-sweep/v1\n${canonicalJson(request)}`, 'utf8').digest('hex');
}

/** A small seeded generator (mulberry32): the same seed draws the same numbers on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How many values a grid dimension has, without listing them (an int range may span 2^53). */
function gridSize(dimension: SpaceDimension): number {
  if ('values' in dimension) return dimension.values.length;
  if ('int' in dimension) return dimension.int[1] - dimension.int[0] + 1;
  throw new Error('a grid dimension must list values or an int range');
}

/** Configurations × seeds, counted before anything is expanded: a grid of 10^9 is refused, not allocated. */
function trialCount(request: SweepRequest): number {
  const configurations = request.method === 'grid' ? Object.values(request.space).reduce((n, d) => n * gridSize(d), 1) : (request.samples ?? 1);
  return configurations * request.seeds.length;
}

/** Every value of a grid dimension (values, or an int range's integers). */
function gridValues(dimension: SpaceDimension): unknown[] {
  if ('values' in dimension) return dimension.values;
  if ('int' in dimension) {
    const [lo, hi] = dimension.int;
    return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  }
  throw new Error('a grid dimension must list values or an int range');
}

/** One draw from a dimension. */
function sample(dimension: SpaceDimension, random: () => number): unknown {
  if ('values' in dimension) return dimension.values[Math.floor(random() * dimension.values.length)];
  if ('uniform' in dimension) return dimension.uniform[0] + random() * (dimension.uniform[1] - dimension.uniform[0]);
  if ('logUniform' in dimension) {
    const [lo, hi] = dimension.logUniform.map(Math.log) as [number, number];
    return Math.exp(lo + random() * (hi - lo));
  }
  const [lo, hi] = dimension.int;
  return lo + Math.floor(random() * (hi - lo + 1));
}

/** The configurations of a request, in a fixed order (grid: the space's paths sorted, the last varying fastest). */
export function assignmentsOf(request: SweepRequest): Assignment[] {
  const paths = Object.keys(request.space).sort();
  if (request.method === 'grid') {
    let out: Assignment[] = [{}];
    for (const path of paths) {
      const values = gridValues(request.space[path]!);
      out = out.flatMap((partial) => values.map((value) => ({ ...partial, [path]: value })));
      if (out.length > MAX_TRIALS) return out;
    }
    return out;
  }
  // The draw depends on what is drawn from (base, space, samples, randomSeed) only, so the same
  // search with and without early stopping, or with other seeds, runs the same configurations.
  const drawn = createHash('sha256').update(`tfleet-draw/v1\n${canonicalJson({ base: request.base, space: request.space, samples: request.samples, randomSeed: request.randomSeed })}`, 'utf8').digest('hex');
  const seed = parseInt(drawn.slice(0, 8), 16);
  const random = seededRandom(seed);
  return Array.from({ length: request.samples ?? 1 }, () => Object.fromEntries(paths.map((path) => [path, sample(request.space[path]!, random)])));
}

/**
 * `base` with `value` at a dotted path, as a copy. Objects on the way are created; a number
 * segment indexes an array that exists. Null when the path runs through a value that is neither.
 */
export function withPath(base: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> | null {
  const copy = structuredClone(base);
  const segments = path.split('.');
  let node: unknown = copy;
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    if (Array.isArray(node)) {
      const index = Number(segment);
      if (!Number.isInteger(index) || index < 0 || index >= node.length) return null;
      if (last) node[index] = value;
      else node = node[index];
    } else if (node !== null && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (last) record[segment] = value;
      else {
        if (record[segment] === undefined) record[segment] = {};
        node = record[segment];
      }
    } else return null;
  }
  return copy;
}

/**
 * Every trial of a request, validated: one per configuration and seed, each spec through the
 * experiment schema and its cross-field rules. Any invalid trial makes the whole plan invalid,
 * with issues named `trials[<index>].<field>` (the first invalid configuration's, per seed once).
 */
export function planSweep(request: SweepRequest): PlanResult {
  const counted = trialCount(request);
  if (counted > MAX_TRIALS) return { ok: false, issues: [{ field: 'space', message: `${counted} trials (configurations × seeds) is more than ${MAX_TRIALS}` }] };
  const key = sweepKeyOf(request);
  const assignments = assignmentsOf(request);
  const total = assignments.length * request.seeds.length;
  if (total > MAX_TRIALS) return { ok: false, issues: [{ field: 'space', message: `${total} trials (configurations × seeds) is more than ${MAX_TRIALS}` }] };
  const trials: TrialPlan[] = [];
  for (const [config, assignment] of assignments.entries()) {
    for (const seed of request.seeds) {
      const index = trials.length;
      let input: Record<string, unknown> | null = request.base;
      for (const [path, value] of Object.entries(assignment)) {
        input = input && withPath(input, path, value);
        if (!input) return { ok: false, issues: [{ field: `space.${path}`, message: `trial ${index}: the base spec has no object or list at '${path}'` }] };
      }
      input = withPath(input!, 'training.seed', seed);
      const parsed = input ? parseExperimentSpec(input) : null;
      if (!parsed || !parsed.ok) {
        const issues = parsed && !parsed.ok ? parsed.issues : [{ field: 'base.training', message: 'must be an object' }];
        return { ok: false, issues: issues.map((i) => ({ field: `trials[${index}].${i.field}`, message: `${i.message} (trial ${index}: ${canonicalJson(assignment)}, seed ${seed})` })) };
      }
      if (request.earlyStopping && parsed.value.training.epochs < request.earlyStopping.maxEpochs) {
        return { ok: false, issues: [{ field: `trials[${index}].training.epochs`, message: `${parsed.value.training.epochs} epochs is fewer than earlyStopping.maxEpochs (${request.earlyStopping.maxEpochs})` }] };
      }
      // The configuration's number keeps two equal draws of a random search two trials.
      const id = uuidFromHash(`tfleet-trial/v1\n${key}\n${config}\n${canonicalJson(assignment)}\n${seed}`);
      trials.push({ id, index, config, assignment, seed, spec: parsed.value });
    }
  }
  return { ok: true, key, id: uuidFromHash(`tfleet-sweep-id/v1\n${key}`), trials };
}

/** A fixed trial list: labelled specs (a shootout suite's entries), each run once per seed. */
export interface LabelledSpec {
  label: string;
  spec: unknown;
}

/**
 * Trials of labelled specs × seeds, validated like any sweep's (a 400 names `entries[<label>]`).
 * `content` is everything that makes the sweep what it is (suite, specs, seeds, limits): its
 * canonical JSON is the key, so the same shootout posted twice is the same sweep.
 */
export function planLabelled(entries: readonly LabelledSpec[], seeds: readonly number[], content: unknown): PlanResult {
  const key = createHash('sha256').update(`tfleet-labelled/v1\n${canonicalJson(content)}`, 'utf8').digest('hex');
  const trials: TrialPlan[] = [];
  for (const [config, entry] of entries.entries()) {
    for (const seed of seeds) {
      const input = entry.spec !== null && typeof entry.spec === 'object' ? withPath(entry.spec as Record<string, unknown>, 'training.seed', seed) : null;
      const parsed = input ? parseExperimentSpec(input) : null;
      if (!parsed || !parsed.ok) {
        const issues = parsed && !parsed.ok ? parsed.issues : [{ field: '(root)', message: 'must be an object' }];
        return { ok: false, issues: issues.map((i) => ({ field: `entries[${entry.label}].${i.field}`, message: i.message })) };
      }
      const assignment = { label: entry.label };
      trials.push({ id: uuidFromHash(`tfleet-trial/v1\n${key}\n${config}\n${canonicalJson(assignment)}\n${seed}`), index: trials.length, config, assignment, seed, spec: parsed.value });
    }
  }
  return { ok: true, key, id: uuidFromHash(`tfleet-sweep-id/v1\n${key}`), trials };
}
