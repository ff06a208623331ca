import type { FilterLiteral, FilterNode } from './ast';
import { FilterError, FilterSyntaxError } from './errors';
import { parseFilter } from './parser';

/** The tree as a compact s-expression, to keep the table below readable. */
function show(node: FilterNode): string {
  const lit = (l: FilterLiteral): string => (l.type === 'string' ? `'${l.value}'` : String(l.value));
  switch (node.kind) {
    case 'and':
    case 'or':
      return `(${node.kind} ${node.children.map(show).join(' ')})`;
    case 'not':
      return `(not ${show(node.child)})`;
    case 'compare':
      return `(${node.op} ${node.field.path} ${lit(node.value)})`;
    case 'in':
      return `(${node.negated ? 'not-in' : 'in'} ${node.field.path} ${node.values.map(lit).join(' ')})`;
  }
}

function syntaxError(text: string, limits?: Parameters<typeof parseFilter>[1]): FilterSyntaxError {
  try {
    parseFilter(text, limits);
  } catch (error) {
    if (error instanceof FilterSyntaxError) return error;
    throw error;
  }
  throw new Error(`parsed: ${text}`);
}

describe('parseFilter', () => {
  it('gives the whole tree with positions for the issue example', () => {
    expect(parseFilter("model.family IN ('lstm','gru') AND training.learningRate < 0.01")).toEqual({
      kind: 'and',
      position: 0,
      children: [
        {
          kind: 'in',
          position: 0,
          negated: false,
          field: { path: 'model.family', position: 0 },
          values: [
            { type: 'string', value: 'lstm', position: 17 },
            { type: 'string', value: 'gru', position: 24 },
          ],
        },
        {
          kind: 'compare',
          position: 35,
          field: { path: 'training.learningRate', position: 35 },
          op: '<',
          opPosition: 57,
          value: { type: 'number', value: 0.01, position: 59 },
        },
      ],
    });
  });

  it.each([
    ["model.family = 'lstm'", "(= model.family 'lstm')"],
    ['a = 1 AND b = 2 OR c = 3', '(or (and (= a 1) (= b 2)) (= c 3))'],
    ['a = 1 OR b = 2 AND c = 3', '(or (= a 1) (and (= b 2) (= c 3)))'],
    ['a = 1 AND b = 2 AND c = 3', '(and (= a 1) (= b 2) (= c 3))'],
    ['a = 1 OR b = 2 OR c = 3 OR d = 4', '(or (= a 1) (= b 2) (= c 3) (= d 4))'],
    ['(a = 1 OR b = 2) AND c = 3', '(and (or (= a 1) (= b 2)) (= c 3))'],
    ['NOT a = 1 AND b = 2', '(and (not (= a 1)) (= b 2))'],
    ['NOT (a = 1 AND b = 2)', '(not (and (= a 1) (= b 2)))'],
    ['NOT NOT a = 1', '(not (not (= a 1)))'],
    ['((a = 1))', '(= a 1)'],
    ["a IN ('x', 'y')", "(in a 'x' 'y')"],
    ['a NOT IN (1, 2.5, -3)', '(not-in a 1 2.5 -3)'],
    ['a not in (true) and b in (false) or not c = null', '(or (and (not-in a true) (in b false)) (not (= c null)))'],
    ['a != 1', '(!= a 1)'],
    ['a <> 1', '(!= a 1)'],
    ['a<=1', '(<= a 1)'],
    ['a>=-1e-3', '(>= a -0.001)'],
    ['a > .5', '(> a 0.5)'],
    ['a < -.5E+2', '(< a -50)'],
    ['a = 10000', '(= a 10000)'],
    ["name = 'it''s'", "(= name 'it's')"],
    ["name = ''''", "(= name ''')"],
    ["name = ''", "(= name '')"],
    ["name = 'ünïcødé 🚀 ; -- DROP'", "(= name 'ünïcødé 🚀 ; -- DROP')"],
    ['a = NULL', '(= a null)'],
    ['a = TRUE', '(= a true)'],
    ['a = False', '(= a false)'],
    ['metrics.accuracy >= 0.9', '(>= metrics.accuracy 0.9)'],
    ['_x.y_2 = 1', '(= _x.y_2 1)'],
    ['  \n\ta\n=\r\n1  ', '(= a 1)'],
    ['andy = 1 AND order = 2 AND notes = 3', '(and (= andy 1) (= order 2) (= notes 3))'],
  ])('parses %j as %s', (text, tree) => {
    expect(show(parseFilter(text))).toBe(tree);
  });

  it.each([
    ['', 0, "a field, NOT or '('"],
    ['   ', 3, "a field, NOT or '('"],
    ['a', 1, 'a comparison operator (=, !=, <, <=, >, >=), IN or NOT IN'],
    ['a =', 3, "a value: a 'string', a number, true, false or null"],
    ['a = b', 4, "a value: a 'string', a number, true, false or null"],
    ['a = 1 b = 2', 6, 'AND, OR or the end of the filter'],
    ['(a = 1', 6, "AND, OR or ')'"],
    ["a = 'x' AND (b = 1 OR c = 2", 27, "AND, OR or ')'"],
    ['a = 1)', 5, 'AND, OR or the end of the filter'],
    ['a IN 1', 5, "'(' and a list of values"],
    ['a IN ()', 6, "a value: a 'string', a number, true, false or null"],
    ['a IN (1 2)', 8, "',' or ')'"],
    ['a IN (1,', 8, "a value: a 'string', a number, true, false or null"],
    ['a NOT = 1', 6, 'IN after NOT (a NOT IN (...))'],
    ["a = 'abc", 4, "a closing quote for the string that starts here (write '' for a quote inside a string)"],
    ["a = 'it's'", 8, 'AND, OR or the end of the filter'],
    ["a = 'it''s", 4, "a closing quote for the string that starts here (write '' for a quote inside a string)"],
    ['a = "x"', 4, "a string in single quotes ('...'); double quotes are not used"],
    ['a == 1', 2, "'=' (one equals sign)"],
    ['a ! 1', 2, "'!=' (or NOT before a condition)"],
    ['a = 1; DROP TABLE experiments', 5, 'a field, a value, an operator, a parenthesis or a comma'],
    ['a = 1 -- comment', 6, 'a digit after the minus sign (comments are not part of the language)'],
    ['a = 1 /* c */', 6, 'a field, a value, an operator, a parenthesis or a comma'],
    ['a. = 1', 2, "a field name after '.' (a letter or '_')"],
    ['a.1 = 1', 2, "a field name after '.' (a letter or '_')"],
    ['a = 1x', 5, 'a space, an operator or a parenthesis after the number'],
    ['a = 1.2.3', 7, 'a space, an operator or a parenthesis after the number'],
    ['a = 1e', 6, 'the digits of the exponent'],
    ['a = 1e999', 4, 'a number of at most about 1.8e308 in size'],
    ['AND a = 1', 0, "a field, NOT or '('"],
    ['a = 1 AND', 9, "a field, NOT or '('"],
    ['a = 1 OR OR b = 2', 9, "a field, NOT or '('"],
    ['NOT', 3, "a field, NOT or '('"],
    ["'x' = a", 0, "a field, NOT or '('"],
    ['1 = 1', 0, "a field, NOT or '('"],
    ['é = 1', 0, 'a field, a value, an operator, a parenthesis or a comma'],
    ['a = 1 \u0000', 6, 'a field, a value, an operator, a parenthesis or a comma'],
    ['a = 1 OR 1=1', 9, "a field, NOT or '('"],
    ["a = '' OR ''=''", 10, "a field, NOT or '('"],
    ['a = 1 UNION SELECT * FROM experiments', 6, 'AND, OR or the end of the filter'],
  ])('rejects %j at %i expecting %s', (text, position, expected) => {
    const error = syntaxError(text);
    expect(error).toBeInstanceOf(FilterError);
    expect({ position: error.position, expected: error.expected, kind: error.kind }).toEqual({ position, expected, kind: 'syntax' });
    expect(error.message).toContain(`at ${position}: expected ${expected}, found `);
  });

  it('reports the leftmost problem when there are several', () => {
    expect(syntaxError('a = 1 b = 2; "x"')).toMatchObject({ position: 6, expected: 'AND, OR or the end of the filter' });
    expect(syntaxError('a = ; b = "x"')).toMatchObject({ position: 4 });
  });

  it('names what it found', () => {
    expect(syntaxError('a = 1; x').found).toBe("character ';' (U+003B)");
    expect(syntaxError('a = 1 b').found).toBe("'b'");
    expect(syntaxError('(a = 1').found).toBe('the end of the filter');
    expect(syntaxError('a = 1 \u0007').found).toBe('character U+0007');
  });

  describe('limits', () => {
    it('refuses more than 2,000 characters before reading any of them', () => {
      const error = syntaxError(`name = '${'x'.repeat(2_000)}'`);
      expect({ kind: error.kind, position: error.position, expected: error.expected }).toEqual({
        kind: 'limit',
        position: 2_000,
        expected: 'a filter of at most 2000 characters',
      });
      expect(() => parseFilter(`name = '${'x'.repeat(1_990)}'`)).not.toThrow();
    });

    it('turns 10 KB of parentheses into a clean error, at the length and at the depth limit', () => {
      const parens = '('.repeat(10_240);
      expect(syntaxError(parens)).toMatchObject({ kind: 'limit', position: 2_000 });
      expect(syntaxError(parens, { maxLength: 100_000 })).toMatchObject({ kind: 'limit', position: 32, expected: 'at most 32 levels of nested parentheses and NOTs' });
      const balanced = `${'('.repeat(10_240)}a = 1${')'.repeat(10_240)}`;
      expect(syntaxError(balanced, { maxLength: 100_000 })).toMatchObject({ kind: 'limit', position: 32 });
    });

    it('accepts 32 levels and refuses 33, of parentheses or NOTs', () => {
      expect(show(parseFilter(`${'('.repeat(32)}a = 1${')'.repeat(32)}`))).toBe('(= a 1)');
      expect(syntaxError(`${'('.repeat(33)}a = 1${')'.repeat(33)}`)).toMatchObject({ kind: 'limit', position: 32 });
      expect(() => parseFilter(`${'NOT '.repeat(32)}a = 1`)).not.toThrow();
      expect(syntaxError(`${'NOT '.repeat(33)}a = 1`)).toMatchObject({ kind: 'limit', position: 128 });
      expect(syntaxError('NOT (NOT (a = 1))', { maxDepth: 3 })).toMatchObject({ kind: 'limit', position: 9 });
    });

    it('reads a long AND chain without nesting', () => {
      const chain = Array.from({ length: 140 }, (_, i) => `a${i} = ${i}`).join(' AND ');
      expect(chain.length).toBeLessThanOrEqual(2_000);
      const node = parseFilter(chain);
      expect(node.kind === 'and' && node.children.length).toBe(140);
    });
  });
});
