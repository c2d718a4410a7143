import { Hono } from 'hono';
import { appContext, type AppOptions } from './app-context.js';
import { defaultSdkDir, sdkAssetRoutes } from './assets/sdk-asset.js';
import { collectRoutes } from './collect/routes.js';
import { pixelRoutes } from './collect/pixel.js';
import { redirectRoutes } from './collect/redirect.js';
import { consoleRoutes } from './console/routes.js';
import { eventRoutes } from './events/routes.js';
import { LoginThrottle } from './console/access/login-throttle.js';
import { adminAuth } from './http/auth.js';
import { clientIp, clientKey } from './http/client-ip.js';
import { collectCors } from './http/cors.js';
import { errorResponse, httpErrorOf, UNAVAILABLE_RETRY_AFTER_S } from './http/errors.js';
import { ClientClosed } from './http/read-body.js';
import { decideRoutes } from './decisions/routes.js';
import { offerRoutes } from './decisions/offer-routes.js';
import { profileRoutes } from './profiles/routes.js';
import { productRoutes } from './recommendations/product-routes.js';
import { funnelRoutes } from './reports/funnel-routes.js';
import { reportRoutes } from './reports/routes.js';
import { segmentRoutes } from './segments/routes.js';
import { automationRoutes } from './automations/routes.js';
import { mailRoutes } from './automations/mail-routes.js';
import { selfServiceRoutes } from './self-service/routes.js';
import { siteRoutes } from './sites/routes.js';
import { recommendationAdminRoutes } from './recommendations/admin-routes.js';
import { recommendationRoutes } from './recommendations/routes.js';

export type { AppOptions } from './app-context.js';

/**
 * The Rapport HTTP application. It does no I/O of its own: the caller opens the store and owns
 * the process (ports, signals); see `server.ts` and `cli.ts`.
 *
 * @example
 * const store = await openStore('./data/rapport.db'); // or a postgres:// URL
 * const app = createApp({ store, sites: await SiteDirectory.load(store), adminToken: 'secret' });
 * serve({ fetch: app.fetch, port: 8787 });
 */
export function createApp(options: AppOptions) {
  const ctx = appContext({ ...options, sdkDir: options.sdkDir ?? defaultSdkDir() });
  const app = new Hono();

  // Counted here, after whichever error handler answered (the console has its own).
  app.use('*', async (c, next) => {
    await next();
    if (c.error instanceof ClientClosed) ctx.stats.clientsClosed++;
  });
  app.onError((error, c) => {
    const http = httpErrorOf(error);
    if (http) return errorResponse(c, http);
    console.error('rapport: unexpected error on', c.req.method, c.req.path, error);
    return c.json({ error: 'internal error' }, 500);
  });
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

  app.get('/healthz', async (c) => {
    const ok = await ctx.store.health();
    return c.json(
      {
        status: ok ? 'ok' : 'unavailable',
        store: ctx.store.kind,
        database: ok ? 'ok' : 'not answering',
        clientsClosedMidUpload: ctx.stats.clientsClosed,
        automations: ctx.automations.scheduler.stats,
      },
      ok ? 200 : 503,
      ok ? {} : { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S) },
    );
  });

  app.route('/e', mailRoutes(ctx));
  app.route('/me', selfServiceRoutes(ctx));
  app.use('/v1/*', collectCors(ctx.sites));
  app.route('/v1', collectRoutes(ctx));
  app.route('/v1', pixelRoutes(ctx));
  app.route('/v1', redirectRoutes(ctx));
  app.route('/v1', decideRoutes(ctx));
  app.route('/v1', recommendationRoutes(ctx));

  // Its own throttle, not the console login's: a script with a stale token must not lock people out.
  const adminThrottle = new LoginThrottle({ now: ctx.now });
  app.use('/api/*', adminAuth(() => ctx.adminToken, { throttle: adminThrottle, clientOf: (c) => clientKey(clientIp(c, ctx.options.proxies)) }));
  app.route('/api/sites', siteRoutes(ctx));
  app.route('/api/events', eventRoutes(ctx));
  app.route('/api/profiles', profileRoutes(ctx));
  app.route('/api/segments', segmentRoutes(ctx));
  app.route('/api/offers', offerRoutes(ctx));
  app.route('/api/products', productRoutes(ctx));
  app.route('/api/reports', reportRoutes(ctx));
  app.route('/api/reports', funnelRoutes(ctx));
  app.route('/api/automations', automationRoutes(ctx));
  app.route('/api/recommendations', recommendationAdminRoutes(ctx));
  app.route('/console', consoleRoutes(ctx));

  app.route('/', sdkAssetRoutes(ctx.options.sdkDir));
  // `node`: this process's name among the nodes of one store, for work that runs on one of them.
  return Object.assign(app, { node: ctx.node, automations: ctx.automations, recommender: ctx.recommender });
}

export type App = ReturnType<typeof createApp>;
