import type { NextFunction, Request, Response } from 'express';

/**
 * What body-parser passes on when it cannot read a body: its own errors carry a `type`
 * ('entity.parse.failed', 'entity.too.large', 'encoding.unsupported', ...); a body whose
 * Content-Encoding says gzip, deflate or br but which is not compressed that way fails in zlib
 * with a `code` (Z_DATA_ERROR, ...) and a 4xx `status` but no `type`.
 */
interface BodyParserError {
  status: number;
  message: string;
  type?: string;
  code?: string;
}

export function isBodyParserError(error: unknown): error is BodyParserError {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as Partial<BodyParserError>;
  return typeof e.status === 'number' && e.status >= 400 && e.status < 500 && (typeof e.type === 'string' || typeof e.code === 'string');
}

/**
 * A body that cannot be read is bad input naming the body: 415 for an encoding tfleet does
 * not accept, 400 for the rest (invalid JSON, over the limit, not compressed as declared).
 */
export function bodyParserErrorResponse(error: BodyParserError): { status: number; body: object } {
  let status = 400;
  let message: string;
  if (error.type === 'entity.too.large') message = 'over the size limit (TFLEET_BODY_LIMIT)';
  else if (error.type === 'encoding.unsupported') {
    status = 415;
    message = `${error.message}; send it uncompressed, or as gzip, deflate or br`;
  } else if (error.type === undefined) message = `not readable as its Content-Encoding says (${error.message})`;
  else message = `not valid JSON: ${error.message}`;
  const name = status === 415 ? 'Unsupported Media Type' : 'Bad Request';
  return { status, body: { statusCode: status, error: name, message: `invalid request body: ${message}`, issues: [{ field: '(body)', message }] } };
}

/** Express error middleware placed right after the JSON parser (it runs outside Nest's filters). */
export function bodyParserErrorHandler(error: unknown, _request: Request, response: Response, next: NextFunction): void {
  if (isBodyParserError(error)) {
    const { status, body } = bodyParserErrorResponse(error);
    response.status(status).json(body);
    return;
  }
  next(error);
}
