import { Logger, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import express from 'express';
import { existsSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { dirname, join } from 'node:path';

/** The built dashboard: dist/apps/dashboard (index.html, styles.css, js/), next to dist/apps/api. */
export const DASHBOARD_DIR = join(__dirname, '..', '..', '..', 'dashboard');
/** uPlot's browser build, served from node_modules (no CDN: nothing is fetched from outside at run time). */
export const UPLOT_DIR = dirname(require.resolve('uplot'));

/**
 * express.static, with the client errors it forwards once it has found the file (416 for a range
 * past the end, 412 for a failed precondition) answered as such: Nest's error handler would
 * make them 500s. The message is the status's own, never the error's (it may name a path).
 */
export function staticFiles(dir: string, options: Parameters<typeof express.static>[1]): express.RequestHandler {
  const serve = express.static(dir, options);
  return (req, res, next) =>
    serve(req, res, (error?: unknown) => {
      const status = typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
      if (typeof status === 'number' && status >= 400 && status < 500 && !res.headersSent) {
        // send set the file's headers before it failed; this answer is not the file (Content-Range stays: a 416 needs it).
        for (const header of ['content-type', 'etag', 'last-modified']) res.removeHeader(header);
        res.status(status).json({ statusCode: status, message: STATUS_CODES[status] ?? 'bad request' });
        return;
      }
      next(error);
    });
}

/**
 * Serves the dashboard at `/` from the control plane. The files are public (a sign-in page
 * must load without a key); everything they show comes from /api, behind the key. Mounted on
 * Express after the API's routes (at module init, before Nest's not-found handler) and outside
 * the `api` prefix, so it never shadows a route.
 */
@Module({})
export class DashboardModule implements OnModuleInit {
  private readonly logger = new Logger(DashboardModule.name);

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const app = this.adapterHost.httpAdapter.getInstance<express.Express>();
    const options = { index: 'index.html', fallthrough: true, maxAge: 0 };
    app.use('/vendor/uplot', staticFiles(UPLOT_DIR, { ...options, index: false }));
    if (!existsSync(join(DASHBOARD_DIR, 'index.html'))) {
      this.logger.warn(`no dashboard at ${DASHBOARD_DIR}: run npm run build`);
      return;
    }
    app.use('/', staticFiles(DASHBOARD_DIR, options));
  }
}
