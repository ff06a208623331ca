import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';

import { bodyParserErrorResponse, isBodyParserError } from './body-parser-errors';

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
      const { status, body } = bodyParserErrorResponse(error);
      response.status(status).json(body);
      return;
    }
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    response.status(500).json({ statusCode: 500, message: 'internal error' });
  }
}
