import { z } from 'zod';
import { BACKEND_NAMES, datasetSpecSchema, experimentSpecSchema, modelSpecSchema, trainingSpecSchema } from '@tfleet/contracts';
import type { FieldResolver, FieldType, ResolveContext, ResolvedField, SqlDialect } from './compiler';

/** A scalar spec option's type and, for enums and literals, its values. */
export interface SpecFieldInfo {
  type: Exclude<FieldType, 'date'>;
  values?: readonly string[];
}

/** The scalar behind defaults, optionals and nullables, or undefined for lists and objects. */
function scalarOf(schema: z.ZodType): SpecFieldInfo | undefined {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional || inner instanceof z.ZodNullable) inner = inner.unwrap() as z.ZodType;
  if (inner instanceof z.ZodEnum) return { type: 'string', values: inner.options.map(String) };
  if (inner instanceof z.ZodLiteral) {
    const values = [...inner.values];
    return values.every((v) => typeof v === 'string') ? { type: 'string', values: values as string[] } : undefined;
  }
  if (inner instanceof z.ZodBoolean) return { type: 'boolean' };
  if (inner instanceof z.ZodNumber) return { type: 'number' };
  if (inner._zod.def.type === 'string') return { type: 'string' };
  return undefined;
}

/**
 * Every filterable spec path: `name` and the scalar options of `dataset`, `model` (any family's,
 * any data set's) and `training`, with their types. Lists (`model.blocks`, `model.denseUnits`)
 * are not filterable. An option two variants would type differently would be left out; none is.
 */
export function specFieldCatalogue(): ReadonlyMap<string, SpecFieldInfo> {
  const catalogue = new Map<string, SpecFieldInfo | 'conflict'>();
  const add = (path: string, schema: z.ZodType): void => {
    const info = scalarOf(schema);
    if (!info) return;
    const seen = catalogue.get(path);
    if (seen === undefined) catalogue.set(path, info);
    else if (seen === 'conflict' || seen.type !== info.type || (seen.values === undefined) !== (info.values === undefined)) catalogue.set(path, 'conflict');
    else if (seen.values && info.values) catalogue.set(path, { type: seen.type, values: [...new Set([...seen.values, ...info.values])] });
  };
  add('name', experimentSpecSchema.shape.name);
  for (const variant of datasetSpecSchema.options) for (const [key, schema] of Object.entries(variant.shape)) add(`dataset.${key}`, schema);
  for (const variant of modelSpecSchema.options) for (const [key, schema] of Object.entries(variant.shape)) add(`model.${key}`, schema);
  for (const [key, schema] of Object.entries(trainingSpecSchema.shape)) add(`training.${key}`, schema);
  const out = new Map<string, SpecFieldInfo>();
  for (const [path, info] of [...catalogue].sort(([a], [b]) => (a < b ? -1 : 1))) if (info !== 'conflict') out.set(path, info);
  return out;
}

export interface TfleetFieldOptions {
  /** The experiments table's alias in the caller's query (default 'e'). */
  alias?: string;
  /** Offer `sweepId`, read from a nullable "sweepId" column, once that column exists. */
  sweepId?: boolean;
  /** The experiment statuses, to reject a misspelt `status = '...'`; any string when omitted. */
  statuses?: readonly string[];
}

/** A final metric's name as the filter may spell it; it is bound as a parameter all the same. */
export const METRIC_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

const SPEC_ROOTS = ['dataset', 'model', 'training'] as const;

/**
 * tfleet's filter fields over the `experiments` table (alias `e`) and `experiment_metrics`:
 *
 * - spec paths `name`, `dataset.*`, `model.*`, `training.*`, read from the JSON `spec` column
 *   (`dataset.name`, `model.family` and `name` from their own indexed columns), only the paths
 *   the experiment spec schema has;
 * - `metrics.<name>`: the run's final test value of that metric (split 'test', epoch 0);
 * - run facts `status`, `backend` (what it ran on), `ranks` (from `runtime`), `createdAt`, and
 *   `sweepId` when `options.sweepId` is set.
 *
 * Path segments reach the SQL text only after matching a key of the spec schema (letters and
 * digits); metric names are parameters.
 */
export function tfleetFieldResolver(options: TfleetFieldOptions = {}): FieldResolver {
  const alias = options.alias ?? 'e';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(alias)) throw new Error(`tfleetFieldResolver: '${alias}' is not a plain SQL alias`);
  const spec = specFieldCatalogue();
  const col = (name: string): string => `${alias}."${name}"`;

  const specSql = (path: string, type: SpecFieldInfo['type'], dialect: SqlDialect): string => {
    const segments = path.split('.');
    if (dialect === 'sqlite') return `json_extract(${col('spec')}, '$.${segments.join('.')}')`;
    const text = `(${col('spec')}::jsonb #>> '{${segments.join(',')}}')`;
    return type === 'number' ? `(${text}::double precision)` : type === 'boolean' ? `(${text}::boolean)` : text;
  };

  const facts: Record<string, (context: ResolveContext) => ResolvedField> = {
    status: () => ({ sql: col('status'), type: 'string', ...(options.statuses ? { values: options.statuses } : {}) }),
    backend: () => ({ sql: col('backend'), type: 'string', values: BACKEND_NAMES }),
    ranks: ({ dialect }) => ({
      sql: dialect === 'sqlite' ? `json_extract(${col('runtime')}, '$.ranks')` : `((${col('runtime')}::jsonb ->> 'ranks')::double precision)`,
      type: 'number',
    }),
    createdAt: ({ dialect }) => ({ sql: dialect === 'sqlite' ? `strftime('%Y-%m-%d %H:%M:%f', ${col('createdAt')})` : col('createdAt'), type: 'date' }),
    ...(options.sweepId ? { sweepId: () => ({ sql: col('sweepId'), type: 'string' as const }) } : {}),
  };
  const columns: Record<string, string> = { name: 'name', 'dataset.name': 'datasetName', 'model.family': 'modelFamily' };

  return {
    resolve(path, context) {
      const fact = Object.hasOwn(facts, path) ? facts[path] : undefined;
      if (fact) return fact(context);
      if (path.startsWith('metrics.')) {
        const name = path.slice('metrics.'.length);
        if (!METRIC_NAME.test(name)) return undefined;
        return {
          sql: `(SELECT fm."value" FROM "experiment_metrics" fm WHERE fm."experimentId" = ${col('id')} AND fm."split" = 'test' AND fm."epoch" = 0 AND fm."name" = ${context.bind(name)})`,
          type: 'number',
        };
      }
      const info = spec.get(path);
      if (!info) return undefined;
      const column = Object.hasOwn(columns, path) ? columns[path] : undefined;
      return { sql: column ? col(column) : specSql(path, info.type, context.dialect), type: info.type, ...(info.values ? { values: info.values } : {}) };
    },
    allowed(path) {
      const root = path.split('.')[0]!;
      if ((SPEC_ROOTS as readonly string[]).includes(root)) return [...spec.keys()].filter((p) => p.startsWith(`${root}.`));
      if (root === 'metrics') return ['metrics.<name> (a final test metric, e.g. metrics.accuracy; the name a letter, then letters, digits or _)'];
      return ['name', ...SPEC_ROOTS.map((r) => `${r}.*`), 'metrics.<name>', ...Object.keys(facts)];
    },
  };
}
