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

/** Validates a body or query with a parser from @tfleet/contracts (zod underneath). */
export class ParsePipe<T> implements PipeTransform<unknown, T> {
  constructor(
    private readonly what: string,
    private readonly parse: (input: unknown) => ParseResult<T>,
  ) {}

  transform(value: unknown): T {
    const result = this.parse(value);
    if (!result.ok) throw invalidInput(this.what, result.issues);
    return result.value;
  }
}

export const zodPipe = <S extends z.ZodType>(what: string, schema: S): ParsePipe<z.output<S>> =>
  new ParsePipe(what, (input) => parseWith(schema, input));
