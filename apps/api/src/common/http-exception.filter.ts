import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';

interface BodyParserError {
  type: string;
  status: number;
  message: string;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return typeof error === 'object' && error !== null && typeof (error as BodyParserError).type === 'string' && typeof (error as BodyParserError).status === 'number';
}

/**
 * One JSON error shape for everything: Nest's HTTP exceptions pass through, body-parser
 * failures (invalid JSON, a body over the limit) become 400s naming the body, and
 * anything else is a logged 500 that leaks no internals.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (error instanceof HttpException) {
      const body = error.getResponse();
      response.status(error.getStatus()).json(typeof body === 'string' ? { statusCode: error.getStatus(), message: body } : body);
      return;
    }
    if (isBodyParserError(error)) {
      // Both are bad input of the same kind (the spec cannot be read), so both are 400s.
      const tooLarge = error.type === 'entity.too.large';
      response.status(400).json({
        statusCode: 400,
        error: 'Bad Request',
        message: tooLarge ? 'request body is over the size limit' : `invalid JSON body: ${error.message}`,
        issues: [{ field: '(body)', message: tooLarge ? 'over the size limit' : 'not valid JSON' }],
      });
      return;
    }
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    response.status(500).json({ statusCode: 500, message: 'internal error' });
  }
}
