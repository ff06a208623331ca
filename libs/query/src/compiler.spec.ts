import { type CompileOptions, type FieldResolver, compileFilterText, normaliseDate } from './compiler';
import { FilterError, FilterFieldError, FilterTypeError } from './errors';

/** A small resolver over a table `t`: one field of each type, an enum, and a parameterised one. */
const fields: FieldResolver = {
  resolve(path, { bind }) {
    if (path === 's') return { sql: 't.s', type: 'string' };
    if (path === 'n') return { sql: 't.n', type: 'number' };
    if (path === 'b') return { sql: 't.b', type: 'boolean' };
    if (path === 'd') return { sql: 't.d', type: 'date' };
    if (path === 'e') return { sql: 't.e', type: 'string', values: ['x', 'y'] };
    if (path.startsWith('m.')) return { sql: `f(${bind(path.slice(2))})`, type: 'number' };
    return undefined;
  },
  allowed: () => ['s', 'n', 'b', 'd', 'e', 'm.<name>'],
};

const sqlite = (text: string, extra: Partial<CompileOptions> = {}) => compileFilterText(text, { dialect: 'sqlite', fields, ...extra });
const postgres = (text: string, extra: Partial<CompileOptions> = {}) => compileFilterText(text, { dialect: 'postgres', fields, ...extra });

function filterError(run: () => unknown): FilterError {
  try {
    run();
  } catch (error) {
    if (error instanceof FilterError) return error;
    throw error;
  }
  throw new Error('compiled');
}

describe('compileFilter', () => {
  it.each([
    ["s = 'a'", "t.s = ?", ['a']],
    ["s != 'a'", "NOT COALESCE(t.s = ?, FALSE)", ['a']],
    ['n < 1 AND n >= -2.5', '(t.n < ? AND t.n >= ?)', [1, -2.5]],
    ['n <= 1 OR n > 2', '(t.n <= ? OR t.n > ?)', [1, 2]],
    ['b = true', 't.b = ?', [1]],
    ['b != false', 'NOT COALESCE(t.b = ?, FALSE)', [0]],
    ["e IN ('x', 'y')", 't.e IN (?, ?)', ['x', 'y']],
    ['n NOT IN (1, 2)', 'NOT COALESCE(t.n IN (?, ?), FALSE)', [1, 2]],
    ['n = null', 't.n IS NULL', []],
    ['n != null', 't.n IS NOT NULL', []],
    ['NOT n = null', 't.n IS NOT NULL', []],
    ["d >= '2026-12-01'", 't.d >= ?', ['2026-12-01 00:00:00.000']],
    ["d < '2026-12-01T10:30:00+02:00'", 't.d < ?', ['2026-12-01 08:30:00.000']],
    ['NOT (n = 1 OR s = \'a\')', "(NOT COALESCE(t.n = ?, FALSE) AND NOT COALESCE(t.s = ?, FALSE))", [1, 'a']],
    ['NOT (n = 1 AND NOT s = \'a\')', "(NOT COALESCE(t.n = ?, FALSE) OR t.s = ?)", [1, 'a']],
    ['NOT NOT n = 1', 't.n = ?', [1]],
    ['NOT n NOT IN (1)', 't.n IN (?)', [1]],
    ['m.acc > 0.5 AND m.loss < 2', '(f(?) > ? AND f(?) < ?)', ['acc', 0.5, 'loss', 2]],
  ])('compiles %j for SQLite as %s', (text, sql, params) => {
    expect(sqlite(text)).toEqual({ sql, params });
  });

  it('numbers PostgreSQL placeholders in order, after the offset, and binds booleans as booleans', () => {
    expect(postgres("(m.acc > 0.5 OR e IN ('x','y')) AND b = true")).toEqual({
      sql: '((f($1) > $2 OR t.e IN ($3, $4)) AND t.b = $5)',
      params: ['acc', 0.5, 'x', 'y', true],
    });
    expect(postgres("s = 'a' AND n != 2", { paramOffset: 3 })).toEqual({ sql: '(t.s = $4 AND NOT COALESCE(t.n = $5, FALSE))', params: ['a', 2] });
  });

  it('takes a placeholder of the caller (TypeORM named parameters)', () => {
    expect(sqlite("s = 'a' OR n = 1", { paramOffset: 1, placeholder: (i) => `:f${i}` })).toEqual({ sql: '(t.s = :f2 OR t.n = :f3)', params: ['a', 1] });
  });

  it('accepts a bare resolve function', () => {
    expect(compileFilterText('n = 1', { dialect: 'sqlite', fields: (path) => (path === 'n' ? { sql: 'n', type: 'number' } : undefined) })).toEqual({ sql: 'n = ?', params: [1] });
    expect(filterError(() => compileFilterText('x = 1', { dialect: 'sqlite', fields: () => undefined }))).toMatchObject({ kind: 'field', expected: 'a known field' });
  });

  it('names an unknown field, where it is and what is allowed', () => {
    const error = filterError(() => sqlite("s = 'a' AND nope = 1"));
    expect(error).toBeInstanceOf(FilterFieldError);
    expect(error.toJSON()).toEqual({
      kind: 'field',
      position: 12,
      expected: 'a known field (s, n, b, d, e, m.<name>)',
      message: "filter: at 12: unknown field 'nope'; expected a known field (s, n, b, d, e, m.<name>)",
    });
    expect((error as FilterFieldError).field).toBe('nope');
  });

  it.each([
    ["n = 'abc'", 4, 'a number', "'abc'"],
    ["n < '1'", 4, 'a number', "'1'"],
    ['n IN (1, true)', 9, 'a number', 'true'],
    ['s = 1', 4, "a string in quotes ('...')", '1'],
    ['s > false', 4, "a string in quotes ('...')", 'false'],
    ['b = 1', 4, 'true or false', '1'],
    ["b = 'true'", 4, 'true or false', "'true'"],
    ['b < true', 2, '= or != (b is true or false)', "'<'"],
    ["d > 'yesterday'", 4, "a date in quotes ('2026-12-01' or '2026-12-01T10:00:00Z')", "'yesterday'"],
    ["d > '2026-02-30'", 4, "a date in quotes ('2026-12-01' or '2026-12-01T10:00:00Z')", "'2026-02-30'"],
    ['d > 20261201', 4, "a date in quotes ('2026-12-01' or '2026-12-01T10:00:00Z')", '20261201'],
    ["e = 'z'", 4, "one of 'x', 'y'", "'z'"],
    ["e NOT IN ('x', 'it''s')", 15, "one of 'x', 'y'", "'it''s'"],
    ['n < null', 4, 'a number (null only with = or !=)', 'null'],
    ['n IN (1, null)', 9, 'a number (null is not a list value; use n = null)', 'null'],
  ])('rejects %j at %i: expected %s, found %s', (text, position, expected, found) => {
    const error = filterError(() => sqlite(text));
    expect(error).toBeInstanceOf(FilterTypeError);
    expect({ position: error.position, expected: error.expected }).toEqual({ position, expected });
    expect(error.message).toContain(`found ${found}`);
  });

  it('allows an enum field to be ordered by any string', () => {
    expect(sqlite("e > 'a'")).toEqual({ sql: 't.e > ?', params: ['a'] });
  });

  describe('injection attempts', () => {
    it.each([
      "s = 'a'; DROP TABLE experiments",
      "s = 'a' -- ' OR 1=1",
      's = 1 OR 1=1',
      "s = '' OR ''=''",
      '1=1; DROP TABLE experiments',
      "s = 'a') OR (1=1",
      's = "a"',
      "s = 'a' /* */",
      "s = 'a' UNION SELECT id FROM experiments",
      "json_extract(spec, '$.x') = 1",
      "s = 'a' OR t.s = 'b'",
      'n = 0x10',
      "s = 'a\u0000",
      'ſ = 1',
      "s = 'a' ＯＲ n = 1",
      `${'('.repeat(10_240)}n = 1${')'.repeat(10_240)}`,
      'NOT '.repeat(2_000),
    ])('rejects %j cleanly', (text) => {
      const error = filterError(() => sqlite(text));
      expect(error.position).toBeGreaterThanOrEqual(0);
      expect(error.position).toBeLessThanOrEqual(text.length);
      expect(error.expected.length).toBeGreaterThan(0);
    });

    it.each([
      "'; DROP TABLE experiments; --",
      "x' OR '1'='1",
      "a'' OR 1=1 --",
      '"; DELETE FROM experiments; --',
      "ünïcødé 🚀 \u202e ' \\ \\' %_",
      `${'('.repeat(500)}`,
    ])('keeps the string %j out of the SQL text, whole, in the parameters', (value) => {
      const text = `s = '${value.replace(/'/g, "''")}'`;
      for (const compiled of [sqlite(text), postgres(text)]) {
        expect(compiled.params).toEqual([value]);
        expect(compiled.sql).toMatch(/^t\.s = (\?|\$1)$/);
      }
    });

    it('passes a parameterised field value (a metric name) as a parameter too', () => {
      expect(postgres('m.x = 1').sql).toBe('f($1) = $2');
    });
  });
});

describe('normaliseDate', () => {
  it.each([
    ['2026-12-01', '2026-12-01 00:00:00.000'],
    ['2026-12-01T10:00', '2026-12-01 10:00:00.000'],
    ['2026-12-01 10:00:05', '2026-12-01 10:00:05.000'],
    ['2026-12-01T10:00:05.1Z', '2026-12-01 10:00:05.100'],
    ['2026-12-01T10:00:05.123456Z', '2026-12-01 10:00:05.123'],
    ['2026-12-01T01:00:00+02:00', '2026-11-30 23:00:00.000'],
    ['2026-12-01T23:30:00-0100', '2026-12-02 00:30:00.000'],
    ['2024-02-29', '2024-02-29 00:00:00.000'],
  ])('reads %s as %s (UTC)', (text, utc) => {
    expect(normaliseDate(text)).toBe(utc);
  });

  it.each(['2026-02-29', '2026-13-01', '2026-12-32', '2026-12-01T24:00', '2026-12-01T10:60', '26-12-01', '2026-12-01Z', 'yesterday', '', '0050-01-01'])(
    'rejects %j',
    (text) => {
      expect(normaliseDate(text)).toBeUndefined();
    },
  );
});
