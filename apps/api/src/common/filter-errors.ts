import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';
import { FilterError } from '@tfleet/query';

/** The longest filter text accepted at the door; the filter language has its own, smaller limit (2,000). */
export const MAX_FILTER_CHARS = 16_384;

/** The `filter=` query parameter; an empty one is no filter. */
export const filterParam = z.string().max(MAX_FILTER_CHARS).optional();

/**
 * Runs `work`; a FilterError (a filter that does not parse, names an unknown field or compares
 * a field with the wrong type) becomes a 400 naming the `filter` parameter, with the position in
 * the filter text and what was expected there.
 */
export async function withFilterErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof FilterError)) throw error;
    const body = error.toJSON();
    throw new BadRequestException({
      statusCode: 400,
      error: 'Bad Request',
      message: `invalid query: filter: ${body.message}`,
      issues: [{ field: 'filter', message: body.message }],
      filter: body,
      position: body.position,
      expected: body.expected,
    });
  }
}
