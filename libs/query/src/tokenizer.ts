import type { ComparisonOperator } from './ast';
import { FilterSyntaxError } from './errors';

export const KEYWORDS = ['AND', 'OR', 'NOT', 'IN', 'TRUE', 'FALSE', 'NULL'] as const;
export type Keyword = (typeof KEYWORDS)[number];

export type Token =
  | { kind: 'field'; path: string; position: number; end: number }
  | { kind: 'keyword'; keyword: Keyword; position: number; end: number }
  | { kind: 'string'; value: string; position: number; end: number }
  | { kind: 'number'; value: number; position: number; end: number }
  | { kind: 'operator'; op: ComparisonOperator; position: number; end: number }
  | { kind: '(' | ')' | ','; position: number; end: number }
  | { kind: 'end'; position: number; end: number };

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isNameStart = (c: string | undefined): boolean => c !== undefined && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c === '_');
const isNamePart = (c: string | undefined): boolean => isNameStart(c) || isDigit(c);
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** How a token reads in an error message. */
export function describeToken(token: Token, text: string): string {
  if (token.kind === 'end') return 'the end of the filter';
  const raw = text.slice(token.position, token.end);
  return `'${raw.length > 40 ? `${raw.slice(0, 40)}...` : raw}'`;
}

/** How the character at `i` reads in an error message. */
function describeChar(text: string, i: number): string {
  if (i >= text.length) return 'the end of the filter';
  const code = text.codePointAt(i)!;
  const printable = code >= 0x20 && code !== 0x7f && !(code >= 0x80 && code < 0xa0);
  return printable ? `character '${String.fromCodePoint(code)}' (U+${code.toString(16).toUpperCase().padStart(4, '0')})` : `character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

const VALUE_OR_FIELD = 'a field, a value, an operator, a parenthesis or a comma';

/**
 * Splits a filter into tokens. Fields are dotted names (`model.family`), each segment
 * `[A-Za-z_][A-Za-z0-9_]*`; a single segment spelled like a keyword (any case) is the keyword.
 * Strings are single-quoted with `''` for a quote; numbers are decimal (`-0.5`, `1e-3`).
 */
export function tokenize(text: string): Token[] {
  const lexer = new Lexer(text);
  const tokens: Token[] = [];
  for (let token = lexer.next(); ; token = lexer.next()) {
    tokens.push(token);
    if (token.kind === 'end') return tokens;
  }
}

/** Reads one token at a time, so the parser reports the leftmost problem of a filter first. */
export class Lexer {
  private i = 0;

  constructor(private readonly text: string) {}

  /** The next token (`end` at the end, again and again); throws FilterSyntaxError on a bad one. */
  next(): Token {
    const text = this.text;
    let i = this.i;
    while (i < text.length && isSpace(text[i]!)) i++;
    if (i >= text.length) {
      this.i = i;
      return { kind: 'end', position: text.length, end: text.length };
    }
    const start = i;
    let token: Token;
    const c = text[i]!;
    if (c === '(' || c === ')' || c === ',') {
      token = { kind: c, position: start, end: start + 1 };
      i++;
    } else if (c === "'") {
      i++;
      let value = '';
      while (true) {
        if (i >= text.length) throw new FilterSyntaxError(start, "a closing quote for the string that starts here (write '' for a quote inside a string)", 'the end of the filter');
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      token = { kind: 'string', value, position: start, end: i };
    } else if (isDigit(c) || ((c === '-' || c === '.') && (isDigit(text[i + 1]) || (text[i + 1] === '.' && c === '-' && isDigit(text[i + 2]))))) {
      token = readNumber(text, i);
      i = token.end;
    } else if (c === '-') {
      throw new FilterSyntaxError(i, 'a digit after the minus sign (comments are not part of the language)', describeChar(text, i + 1));
    } else if (isNameStart(c)) {
      while (true) {
        while (isNamePart(text[i])) i++;
        if (text[i] !== '.') break;
        i++;
        if (!isNameStart(text[i])) throw new FilterSyntaxError(i, "a field name after '.' (a letter or '_')", describeChar(text, i));
      }
      const path = text.slice(start, i);
      const upper = path.toUpperCase();
      const keyword = KEYWORDS.find((k) => k === upper);
      token = keyword ? { kind: 'keyword', keyword, position: start, end: i } : { kind: 'field', path, position: start, end: i };
    } else if (c === '=' || c === '<' || c === '>' || c === '!') {
      const two = text.slice(i, i + 2);
      let op: ComparisonOperator;
      if (two === '<=' || two === '>=' || two === '!=') op = two;
      else if (two === '<>') op = '!=';
      else if (c === '!') throw new FilterSyntaxError(i, "'!=' (or NOT before a condition)", describeChar(text, i));
      else if (two === '==') throw new FilterSyntaxError(i, "'=' (one equals sign)", "'=='");
      else op = c as ComparisonOperator;
      i += two === '<>' ? 2 : op.length;
      token = { kind: 'operator', op, position: start, end: i };
    } else if (c === '"') {
      throw new FilterSyntaxError(i, "a string in single quotes ('...'); double quotes are not used", describeChar(text, i));
    } else {
      throw new FilterSyntaxError(i, VALUE_OR_FIELD, describeChar(text, i));
    }
    this.i = i;
    return token;
  }
}

/** Reads `-? digits [. digits] [e [+-] digits]` (or `.5`) at `i`. */
function readNumber(text: string, i: number): Token {
  const start = i;
  if (text[i] === '-') i++;
  while (isDigit(text[i])) i++;
  if (text[i] === '.') {
    i++;
    if (!isDigit(text[i]) && !isDigit(text[i - 2])) throw new FilterSyntaxError(i, 'a digit', describeChar(text, i));
    while (isDigit(text[i])) i++;
  }
  if (text[i] === 'e' || text[i] === 'E') {
    i++;
    if (text[i] === '+' || text[i] === '-') i++;
    if (!isDigit(text[i])) throw new FilterSyntaxError(i, 'the digits of the exponent', describeChar(text, i));
    while (isDigit(text[i])) i++;
  }
  if (isNamePart(text[i]) || text[i] === '.') throw new FilterSyntaxError(i, 'a space, an operator or a parenthesis after the number', describeChar(text, i));
  const value = Number(text.slice(start, i));
  if (!Number.isFinite(value)) throw new FilterSyntaxError(start, 'a number of at most about 1.8e308 in size', `'${text.slice(start, i)}'`);
  return { kind: 'number', value, position: start, end: i };
}
