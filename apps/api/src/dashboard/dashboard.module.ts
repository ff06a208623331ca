import { Logger, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import express from 'express';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The built dashboard: dist/apps/dashboard (index.html, styles.css, js/), next to dist/apps/api. */
export const DASHBOARD_DIR = join(__dirname, '..', '..', '..', 'dashboard');
/** uPlot's browser build, served from node_modules (no CDN: nothing is fetched from outside at run time). */
export const UPLOT_DIR = dirname(require.resolve('uplot'));

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
    app.use('/vendor/uplot', express.static(UPLOT_DIR, { ...options, index: false }));
    if (!existsSync(join(DASHBOARD_DIR, 'index.html'))) {
      this.logger.warn(`no dashboard at ${DASHBOARD_DIR}: run npm run build`);
      return;
    }
    app.use('/', express.static(DASHBOARD_DIR, options));
  }
}
