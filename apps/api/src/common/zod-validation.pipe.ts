import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { type ParseResult, parseWith, type SpecIssue } from '@tfleet/contracts';

/** A 400 whose body names every offending field. */
export function invalidInput(what: string, issues: SpecIssue[]): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: `invalid ${what}: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
    issues,
  });
}

/**
 * Where `value` has an own `__proto__` key (JSON.parse makes one), as a field path; null if
 * nowhere. zod drops such a key without a word from records and non-strict objects, so a body
 * with it would pass as if the key were not there. Iterative: a deep body cannot overflow here.
 */
export function protoKeyField(value: unknown): string | null {
  // Each node keeps its parent's index and its key, so no path is copied per node (a body nested 10^5 deep stays linear).
  const nodes: { value: unknown; parent: number; key: string }[] = [{ value, parent: -1, key: '' }];
  const pending = [0];
  while (pending.length > 0) {
    const index = pending.pop()!;
    const node = nodes[index]!.value;
    if (node === null || typeof node !== 'object') continue;
    if (Object.prototype.hasOwnProperty.call(node, '__proto__')) {
      const path: string[] = [];
      for (let at = index; at > 0; at = nodes[at]!.parent) path.push(nodes[at]!.key);
      return [...path.reverse(), '__proto__'].join('.');
    }
    for (const [key, child] of Object.entries(node)) {
      if (child === null || typeof child !== 'object') continue;
      pending.push(nodes.push({ value: child, parent: index, key }) - 1);
    }
  }
  return null;
}

/** Validates a body or query with a parser from @tfleet/contracts (zod underneath). */
export class ParsePipe<T> implements PipeTransform<unknown, T> {
  constructor(
    private readonly what: string,
    private readonly parse: (input: unknown) => ParseResult<T>,
  ) {}

  transform(value: unknown): T {
    const proto = protoKeyField(value);
    if (proto !== null) throw invalidInput(this.what, [{ field: proto, message: "'__proto__' is not a field" }]);
    const result = this.parse(value);
    if (!result.ok) throw invalidInput(this.what, result.issues);
    return result.value;
  }
}

export const zodPipe = <S extends z.ZodType>(what: string, schema: S): ParsePipe<z.output<S>> =>
  new ParsePipe(what, (input) => parseWith(schema, input));
