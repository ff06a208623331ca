import type { NextFunction, Request, Response } from 'express';

interface BodyParserError {
  type: string;
  status: number;
  message: string;
}

export function isBodyParserError(error: unknown): error is BodyParserError {
  return typeof error === 'object' && error !== null && typeof (error as BodyParserError).type === 'string' && typeof (error as BodyParserError).status === 'number';
}

/**
 * Invalid JSON and a body over the limit are both bad input of the same kind (the spec
 * cannot be read), so both are 400s naming the body as the offending field.
 */
export function bodyParserErrorResponse(error: BodyParserError) {
  const tooLarge = error.type === 'entity.too.large';
  const message = tooLarge ? 'over the size limit (TFLEET_BODY_LIMIT)' : `not valid JSON: ${error.message}`;
  return { statusCode: 400, error: 'Bad Request', message: `invalid request body: ${message}`, issues: [{ field: '(body)', message }] };
}

/** Express error middleware placed right after the JSON parser (it runs outside Nest's filters). */
export function bodyParserErrorHandler(error: unknown, _request: Request, response: Response, next: NextFunction): void {
  if (isBodyParserError(error) && error.status < 500) {
    response.status(400).json(bodyParserErrorResponse(error));
    return;
  }
  next(error);
}
