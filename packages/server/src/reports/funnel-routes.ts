import { Hono } from 'hono';
import type { AppContext } from '../app-context.js';
import { jsonBody } from '../http/input.js';
import { siteOf } from '../sites/routes.js';
import { retentionReport, retentionRequest } from './cohorts.js';
import { FUNNEL_FIELDS, funnelReport, funnelRequest, segmentOfSplit } from './funnel.js';

/**
 * `POST /api/reports/funnel` and `GET /api/reports/retention`, mounted at `/api/reports` beside
 * the other reports (admin token, as every `/api` route). Both count off the event loop: in
 * SQLite's read worker, or in PostgreSQL.
 *
 * @example
 * app.route('/api/reports', funnelRoutes(ctx));
 */
export function funnelRoutes(ctx: AppContext) {
  const app = new Hono();

  app.post('/funnel', async (c) => {
    const body = await jsonBody(c, FUNNEL_FIELDS);
    const site = siteOf(ctx, body.site);
    const request = funnelRequest(body, site, ctx.now());
    return c.json(await funnelReport(ctx.store, site, request, await segmentOfSplit(ctx, site, request.by)));
  });

  app.get('/retention', async (c) => {
    const q = c.req.query();
    const site = siteOf(ctx, q.site);
    return c.json(await retentionReport(ctx.store, site, retentionRequest(q, site, ctx.now()), ctx.now()));
  });

  return app;
}
