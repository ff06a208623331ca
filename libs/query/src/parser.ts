import type { FieldRef, FilterLiteral, FilterNode } from './ast';
import { FilterSyntaxError } from './errors';
import { type Keyword, Lexer, type Token, describeToken } from './tokenizer';

export interface FilterLimits {
  /** Longest filter text accepted, in characters (UTF-16 code units). */
  maxLength: number;
  /** Deepest nesting of parentheses and NOTs accepted. */
  maxDepth: number;
}

export const DEFAULT_FILTER_LIMITS: Readonly<FilterLimits> = { maxLength: 2_000, maxDepth: 32 };

/**
 * Parses a filter into its tree, or throws a FilterSyntaxError with the position and what was
 * expected there. The grammar (keywords in any case):
 *
 *   filter     := or END
 *   or         := and ( OR and )*
 *   and        := unary ( AND unary )*
 *   unary      := NOT unary | '(' or ')' | comparison
 *   comparison := FIELD op literal | FIELD [NOT] IN '(' literal ( ',' literal )* ')'
 *   op         := '=' | '!=' | '<>' | '<' | '<=' | '>' | '>='
 *   literal    := STRING | NUMBER | TRUE | FALSE | NULL
 *
 * NOT binds tighter than AND, AND tighter than OR. The text is limited in length and nesting
 * (`limits`), so a hostile filter costs a bounded amount of work and never overflows the stack.
 */
export function parseFilter(text: string, limits: Partial<FilterLimits> = {}): FilterNode {
  const { maxLength, maxDepth } = { ...DEFAULT_FILTER_LIMITS, ...limits };
  if (text.length > maxLength) {
    throw new FilterSyntaxError(maxLength, `a filter of at most ${maxLength} characters`, `${text.length} characters`, 'limit');
  }
  return new Parser(text, new Lexer(text), maxDepth).parse();
}

class Parser {
  /** The one token of lookahead; the lexer reads the next only when this one is taken. */
  private current: Token;

  constructor(
    private readonly text: string,
    private readonly lexer: Lexer,
    private readonly maxDepth: number,
  ) {
    this.current = lexer.next();
  }

  parse(): FilterNode {
    const node = this.parseOr(0);
    if (this.peek().kind !== 'end') this.fail('AND, OR or the end of the filter');
    return node;
  }

  private peek(): Token {
    return this.current;
  }

  private next(): Token {
    const token = this.current;
    if (token.kind !== 'end') this.current = this.lexer.next();
    return token;
  }

  private isKeyword(token: Token, keyword: Keyword): boolean {
    return token.kind === 'keyword' && token.keyword === keyword;
  }

  private fail(expected: string, token: Token = this.peek()): never {
    throw new FilterSyntaxError(token.position, expected, describeToken(token, this.text));
  }

  private enter(depth: number, token: Token): void {
    if (depth > this.maxDepth) {
      throw new FilterSyntaxError(token.position, `at most ${this.maxDepth} levels of nested parentheses and NOTs`, describeToken(token, this.text), 'limit');
    }
  }

  private parseOr(depth: number): FilterNode {
    const first = this.parseAnd(depth);
    const children = [first];
    while (this.isKeyword(this.peek(), 'OR')) {
      this.next();
      children.push(this.parseAnd(depth));
    }
    return children.length === 1 ? first : { kind: 'or', children, position: first.position };
  }

  private parseAnd(depth: number): FilterNode {
    const first = this.parseUnary(depth);
    const children = [first];
    while (this.isKeyword(this.peek(), 'AND')) {
      this.next();
      children.push(this.parseUnary(depth));
    }
    return children.length === 1 ? first : { kind: 'and', children, position: first.position };
  }

  private parseUnary(depth: number): FilterNode {
    const token = this.peek();
    if (this.isKeyword(token, 'NOT')) {
      this.enter(depth + 1, token);
      this.next();
      return { kind: 'not', child: this.parseUnary(depth + 1), position: token.position };
    }
    if (token.kind === '(') {
      this.enter(depth + 1, token);
      this.next();
      const inner = this.parseOr(depth + 1);
      if (this.peek().kind !== ')') this.fail("AND, OR or ')'");
      this.next();
      return inner;
    }
    if (token.kind === 'field') return this.parseComparison();
    return this.fail("a field, NOT or '('");
  }

  private parseComparison(): FilterNode {
    const fieldToken = this.next();
    if (fieldToken.kind !== 'field') return this.fail('a field', fieldToken);
    const field: FieldRef = { path: fieldToken.path, position: fieldToken.position };
    const token = this.peek();
    if (token.kind === 'operator') {
      this.next();
      return { kind: 'compare', field, op: token.op, opPosition: token.position, value: this.parseLiteral(), position: field.position };
    }
    if (this.isKeyword(token, 'IN')) {
      this.next();
      return { kind: 'in', field, negated: false, values: this.parseList(), position: field.position };
    }
    if (this.isKeyword(token, 'NOT')) {
      this.next();
      if (!this.isKeyword(this.peek(), 'IN')) this.fail(`IN after NOT (${field.path} NOT IN (...))`);
      this.next();
      return { kind: 'in', field, negated: true, values: this.parseList(), position: field.position };
    }
    return this.fail('a comparison operator (=, !=, <, <=, >, >=), IN or NOT IN');
  }

  private parseList(): FilterLiteral[] {
    if (this.peek().kind !== '(') this.fail("'(' and a list of values");
    this.next();
    const values = [this.parseLiteral()];
    while (true) {
      const token = this.next();
      if (token.kind === ')') return values;
      if (token.kind !== ',') this.fail("',' or ')'", token);
      values.push(this.parseLiteral());
    }
  }

  private parseLiteral(): FilterLiteral {
    const token = this.peek();
    const expected = "a value: a 'string', a number, true, false or null";
    switch (token.kind) {
      case 'string':
        this.next();
        return { type: 'string', value: token.value, position: token.position };
      case 'number':
        this.next();
        return { type: 'number', value: token.value, position: token.position };
      case 'keyword':
        if (token.keyword === 'TRUE' || token.keyword === 'FALSE') {
          this.next();
          return { type: 'boolean', value: token.keyword === 'TRUE', position: token.position };
        }
        if (token.keyword === 'NULL') {
          this.next();
          return { type: 'null', value: null, position: token.position };
        }
        return this.fail(expected);
      default:
        return this.fail(expected);
    }
  }
}
