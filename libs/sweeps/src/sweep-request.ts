import { z } from 'zod';

/** Most trials (configurations × seeds) one sweep may hold. */
export const MAX_TRIALS = 1_000;

/** Deepest nesting of objects and arrays a base spec or a listed value may have: far above any spec's, far below what recursion survives. */
export const MAX_NESTING = 32;

/** Whether `value` nests objects and arrays at most `limit` deep; iterative, so a body nested 10^5 deep cannot overflow the stack here. */
export function nestedAtMost(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= limit) return false;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return true;
}

/**
 * Checked before anything recurses into the value (zod's z.json, the canonical key, cloning):
 * each of those overflows the stack a few thousand levels down, which would be a 500.
 */
const shallow = <T extends z.ZodType>(schema: T) =>
  z
    .unknown()
    .refine((v) => nestedAtMost(v, MAX_NESTING), { message: `nested deeper than ${MAX_NESTING} levels` })
    .pipe(schema);

const range = (name: string, schema: z.ZodNumber) =>
  z.tuple([schema, schema]).refine(([lo, hi]) => lo < hi, { message: `${name} needs [lo, hi] with lo < hi` });

/** One dimension of the search space: listed values, or a range to sample. */
export const spaceDimensionSchema = z.union([
  z.strictObject({ values: z.array(shallow(z.json())).min(1, 'values needs at least one value') }),
  z.strictObject({ uniform: range('uniform', z.number()) }),
  z.strictObject({ logUniform: range('logUniform', z.number().positive()) }),
  z.strictObject({ int: range('int', z.int()) }),
]);
export type SpaceDimension = z.output<typeof spaceDimensionSchema>;

/** Spec paths a space may set: dotted keys under the spec's roots (array items by number). */
const SPACE_PATH = /^(name|(dataset|model|training)(\.[A-Za-z0-9]+)+)$/;
/** Set by the sweep itself: the seed by `seeds`, scheduling by the sweep. */
const RESERVED_PATHS = ['training.seed', 'training.priority'];

export const ashaSchema = z.strictObject({
  method: z.literal('asha'),
  /** A metric the runs report per epoch (validation first, else train), e.g. `loss`, `accuracy`. */
  metric: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/),
  mode: z.enum(['min', 'max']),
  /** The first rung, in epochs. */
  gracePeriod: z.int().min(1).default(1),
  reductionFactor: z.int().min(2).default(2),
  /** Rungs lie at gracePeriod × reductionFactor^k below this many epochs. */
  maxEpochs: z.int().min(1),
});
export type AshaConfig = z.output<typeof ashaSchema>;

export const stopWhenSchema = z.strictObject({
  metric: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/),
  mode: z.enum(['min', 'max']),
  value: z.number(),
});
export type StopWhen = z.output<typeof stopWhenSchema>;

export const sweepRequestSchema = z
  .strictObject({
    name: z.string().min(1).max(120).optional(),
    /** An experiment spec (as POST /api/experiments takes it); each trial is it with the space's values set. */
    base: shallow(z.record(z.string(), z.unknown())),
    space: z.record(z.string(), spaceDimensionSchema).refine((s) => Object.keys(s).length > 0, { message: 'the space is empty: give at least one spec path' }),
    method: z.enum(['grid', 'random']),
    /** Random search: how many configurations to draw. */
    samples: z.int().min(1).max(MAX_TRIALS).optional(),
    /** Random search: the draw's seed (the same sweep draws the same configurations). */
    randomSeed: z.int().min(0).default(0),
    /** Every configuration runs once per seed (`training.seed`). */
    seeds: z.array(z.int().min(0)).min(1).max(100).refine((s) => new Set(s).size === s.length, { message: 'seeds must be distinct' }).default([42]),
    /** Most trials queued or running at once across the whole fleet; unset: all at once. */
    maxConcurrent: z.int().min(1).max(MAX_TRIALS).optional(),
    /** What "best" means in the sweep's view: a metric and its direction (default: early stopping's, else stopWhen's, else loss, lower). */
    objective: z.strictObject({ metric: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/), mode: z.enum(['min', 'max']) }).optional(),
    earlyStopping: ashaSchema.optional(),
    stopWhen: stopWhenSchema.optional(),
  })
  .superRefine((request, ctx) => {
    for (const [path, dimension] of Object.entries(request.space)) {
      if (!SPACE_PATH.test(path)) ctx.addIssue({ code: 'custom', path: ['space', path], message: `'${path}' is not a spec path (e.g. training.learningRate, model.blocks.0.filters)` });
      else if (RESERVED_PATHS.includes(path)) ctx.addIssue({ code: 'custom', path: ['space', path], message: `'${path}' is set by the sweep (seeds), not by the space` });
      if (request.method === 'grid' && !('values' in dimension) && !('int' in dimension)) {
        ctx.addIssue({ code: 'custom', path: ['space', path], message: 'a grid needs values or an int range; sample uniform and logUniform with method random' });
      }
    }
    if (request.method === 'random' && request.samples === undefined) ctx.addIssue({ code: 'custom', path: ['samples'], message: 'random search needs samples' });
    if (request.method === 'grid' && request.samples !== undefined) ctx.addIssue({ code: 'custom', path: ['samples'], message: 'samples is for random search; a grid runs every combination' });
    const asha = request.earlyStopping;
    if (asha && asha.gracePeriod >= asha.maxEpochs) ctx.addIssue({ code: 'custom', path: ['earlyStopping', 'gracePeriod'], message: 'the grace period must be below maxEpochs' });
    if (typeof request.base['name'] !== 'undefined' && typeof request.base['name'] !== 'string') ctx.addIssue({ code: 'custom', path: ['base', 'name'], message: 'must be a string' });
  });
export type SweepRequestInput = z.input<typeof sweepRequestSchema>;
export type SweepRequest = z.output<typeof sweepRequestSchema>;
