import type { FilterLiteral, FilterNode } from './ast';
import { FilterFieldError, FilterTypeError } from './errors';
import { type FilterLimits, parseFilter } from './parser';

export type SqlDialect = 'sqlite' | 'postgres';
export type FieldType = 'string' | 'number' | 'boolean' | 'date';

/** A field as SQL: an expression over the caller's tables, and the type of its values. */
export interface ResolvedField {
  sql: string;
  type: FieldType;
  /** A string field's closed set of values (an enum): `=`, `!=` and `IN` accept only these. */
  values?: readonly string[];
}

export interface ResolveContext {
  dialect: SqlDialect;
  /** Adds a parameter and returns its placeholder; a resolver's own values go through it, never into the SQL text. */
  bind(value: unknown): string;
}

/**
 * Turns field paths into SQL. `resolve` returns undefined for a field it does not know;
 * `allowed(path)` then lists what the error should offer instead (all roots, or the fields
 * under the root the path started with).
 */
export interface FieldResolver {
  resolve(path: string, context: ResolveContext): ResolvedField | undefined;
  allowed(path: string): readonly string[];
}

export interface CompileOptions {
  dialect: SqlDialect;
  /** The fields a filter may use; a bare function works too (its errors then list no fields). */
  fields: FieldResolver | FieldResolver['resolve'];
  /** Parameters already in the query before this filter's: PostgreSQL placeholders start at `$<offset + 1>`. */
  paramOffset?: number;
  /** Overrides the dialect's placeholders; gets the 1-based index (offset included), e.g. `(n) => ':f' + n` for TypeORM. */
  placeholder?: (index: number) => string;
}

/** A WHERE condition (no `WHERE`) and its parameters, in placeholder order. */
export interface CompiledFilter {
  sql: string;
  params: unknown[];
}

const literalText = (literal: FilterLiteral): string =>
  literal.type === 'string' ? `'${literal.value.replace(/'/g, "''")}'` : String(literal.value);

const article = (type: FieldType): string =>
  ({ string: "a string in quotes ('...')", number: 'a number', boolean: 'true or false', date: "a date in quotes ('2026-12-01' or '2026-12-01T10:00:00Z')" })[type];

/**
 * Compiles a parsed filter to a parameterised SQL condition. Every value of the filter is a
 * parameter; the SQL text holds only what the resolver returns, operators and placeholders.
 *
 * Semantics are two-valued: a missing value (SQL NULL: a field a family does not have, a metric a
 * run did not record) makes `=`, `<`, `<=`, `>`, `>=` and `IN` false, and `!=` and `NOT IN` true,
 * so `NOT c` always holds for exactly the rows `c` does not. `field = null` and `field != null`
 * test for a missing value. NOT is pushed down to the comparisons (De Morgan), so each plain
 * comparison stays a sargable `field op ?` and only negated ones become `NOT COALESCE(.., FALSE)`.
 *
 * Throws FilterFieldError for an unknown field and FilterTypeError for a value or operator that
 * does not fit the field, each with the position in the filter text.
 */
export function compileFilter(node: FilterNode, options: CompileOptions): CompiledFilter {
  const { dialect } = options;
  const offset = options.paramOffset ?? 0;
  const resolver: FieldResolver = typeof options.fields === 'function' ? { resolve: options.fields, allowed: () => [] } : options.fields;
  const placeholder = options.placeholder ?? (dialect === 'postgres' ? (n: number) => `$${n}` : () => '?');
  const params: unknown[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return placeholder(offset + params.length);
  };
  const context: ResolveContext = { dialect, bind };

  const field = (ref: { path: string; position: number }): ResolvedField => {
    const resolved = resolver.resolve(ref.path, context);
    if (!resolved) throw new FilterFieldError(ref.position, ref.path, resolver.allowed(ref.path));
    return resolved;
  };

  /** The parameter for a literal compared with a field of `type`, after checking that it fits. */
  const bindValue = (path: string, resolved: ResolvedField, literal: FilterLiteral, inList: boolean): string => {
    const expected = article(resolved.type);
    if (literal.type === 'null') {
      throw new FilterTypeError(literal.position, path, inList ? `${expected} (null is not a list value; use ${path} = null)` : `${expected} (null only with = or !=)`, 'null');
    }
    switch (resolved.type) {
      case 'number':
        if (literal.type !== 'number') throw new FilterTypeError(literal.position, path, expected, literalText(literal));
        return bind(literal.value);
      case 'boolean':
        if (literal.type !== 'boolean') throw new FilterTypeError(literal.position, path, expected, literalText(literal));
        return bind(dialect === 'sqlite' ? (literal.value ? 1 : 0) : literal.value);
      case 'string':
        if (literal.type !== 'string') throw new FilterTypeError(literal.position, path, expected, literalText(literal));
        return bind(literal.value);
      case 'date': {
        const date = literal.type === 'string' ? normaliseDate(literal.value) : undefined;
        if (date === undefined) throw new FilterTypeError(literal.position, path, expected, literalText(literal));
        return bind(date);
      }
    }
  };

  const checkEnum = (path: string, resolved: ResolvedField, literal: FilterLiteral): void => {
    if (resolved.values && literal.type === 'string' && !resolved.values.includes(literal.value)) {
      throw new FilterTypeError(literal.position, path, `one of ${resolved.values.map((v) => `'${v}'`).join(', ')}`, literalText(literal));
    }
  };

  const atom = (sql: string, negated: boolean): string => (negated ? `NOT COALESCE(${sql}, FALSE)` : sql);

  const emit = (n: FilterNode, negate: boolean): string => {
    switch (n.kind) {
      case 'and':
      case 'or': {
        const or = (n.kind === 'or') !== negate;
        return `(${n.children.map((child) => emit(child, negate)).join(or ? ' OR ' : ' AND ')})`;
      }
      case 'not':
        return emit(n.child, !negate);
      case 'compare': {
        const resolved = field(n.field);
        if (n.value.type === 'null') {
          if (n.op !== '=' && n.op !== '!=') {
            throw new FilterTypeError(n.value.position, n.field.path, `${article(resolved.type)} (null only with = or !=)`, 'null');
          }
          return `${resolved.sql} IS ${(n.op === '=') !== negate ? '' : 'NOT '}NULL`;
        }
        if (resolved.type === 'boolean' && n.op !== '=' && n.op !== '!=') {
          throw new FilterTypeError(n.opPosition, n.field.path, `= or != (${n.field.path} is true or false)`, `'${n.op}'`);
        }
        if (n.op === '=' || n.op === '!=') checkEnum(n.field.path, resolved, n.value);
        const value = bindValue(n.field.path, resolved, n.value, false);
        const op = n.op === '!=' ? '=' : n.op;
        return atom(`${resolved.sql} ${op} ${value}`, (n.op === '!=') !== negate);
      }
      case 'in': {
        const resolved = field(n.field);
        for (const value of n.values) checkEnum(n.field.path, resolved, value);
        const values = n.values.map((value) => bindValue(n.field.path, resolved, value, true));
        return atom(`${resolved.sql} IN (${values.join(', ')})`, n.negated !== negate);
      }
    }
  };

  const sql = emit(node, false);
  return { sql, params };
}

/** Parses and compiles in one step; throws the same FilterErrors as each part. */
export function compileFilterText(text: string, options: CompileOptions & { limits?: Partial<FilterLimits> }): CompiledFilter {
  return compileFilter(parseFilter(text, options.limits), options);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * An ISO 8601 date or date-time as UTC text 'YYYY-MM-DD HH:MM:SS.SSS' (the form SQLite's
 * strftime('%Y-%m-%d %H:%M:%f') writes and PostgreSQL reads as a timestamp), or undefined.
 * Without a zone the time is UTC. Impossible dates (2026-02-30) are undefined.
 */
export function normaliseDate(text: string): string | undefined {
  const m = DATE.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(utc);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2) || '0');
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  const iso = new Date(utc - offsetMinutes * 60_000).toISOString();
  return /^\d{4}-/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 23)}` : undefined;
}
