import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { trimTrailingSlash } from 'hono/trailing-slash';
import type { AppContext } from '../app-context.js';
import { errorResponse, HttpError, httpErrorOf } from '../http/errors.js';
import { loginRoutes, logoutRoute, requireSession } from './access/login.js';
import { LoginThrottle } from './access/login-throttle.js';
import { securityHeaders } from './access/security.js';
import { ConsoleSessions } from './access/sessions.js';
import { automationPages } from './automations/routes.js';
import { customerRoutes } from './customers/routes.js';
import type { ConsoleEnv } from './env.js';
import { offerRoutes } from './offers/routes.js';
import { overviewRoutes } from './overview/routes.js';
import { productPages } from './products/routes.js';
import { attributionPages } from './reports/attribution.js';
import { funnelPages } from './reports/funnel.js';
import { retentionPages } from './reports/retention.js';
import { segmentRoutes } from './segments/routes.js';
import { siteRoutes } from './sites/routes.js';
import { staticRoutes } from './static-files.js';
import { Card, Empty } from './ui/components.js';
import { hereOf } from './ui/here.js';
import { Bare, page, send } from './ui/layout.js';

/**
 * The marketer console at `/console`: pages rendered on the server with Hono's JSX, a few small
 * scripts where a page needs them (the rule builder's live count, the offer preview), one
 * stylesheet. It calls the same domain functions as the admin JSON API.
 *
 * @example
 * app.route('/console', consoleRoutes(ctx));
 */
export function consoleRoutes(ctx: AppContext) {
  const sessions = new ConsoleSessions(ctx.store, { now: ctx.now });
  const throttle = new LoginThrottle({ now: ctx.now });
  const app = new Hono<ConsoleEnv>();

  app.use('*', securityHeaders());
  // `/console/customers/` is the list too: a page that would be "not found" drops its trailing slash.
  app.use('*', trimTrailingSlash());
  app.use('*', bodyLimit({ maxSize: 256 * 1024, onError: () => { throw new HttpError(413, 'the form is larger than 256 KB'); } }));
  app.onError((error, c) => errorPage(ctx, error, c));

  app.route('/static', staticRoutes());
  app.route('/', loginRoutes(ctx, sessions, throttle));

  app.use('*', requireSession(ctx, sessions));
  app.route('/', logoutRoute(ctx, sessions));
  app.route('/', overviewRoutes(ctx));
  app.route('/customers', customerRoutes(ctx));
  app.route('/', segmentRoutes(ctx));
  app.route('/', offerRoutes(ctx));
  app.route('/products', productPages(ctx));
  app.route('/', automationPages(ctx));
  app.route('/reports', attributionPages(ctx));
  app.route('/reports', funnelPages(ctx));
  app.route('/reports', retentionPages(ctx));
  app.route('/sites', siteRoutes(ctx));
  app.all('*', (c) => {
    throw new HttpError(404, `There is no page ${c.req.path} in the console.`);
  });
  return app;
}

/** Errors as pages (JSON for the scripts' calls under /console/api). */
async function errorPage(ctx: AppContext, error: Error, c: Context<ConsoleEnv>) {
  const known = httpErrorOf(error);
  if (!known) console.error('rapport: unexpected error on', c.req.method, c.req.path, error);
  const http = known ?? new HttpError(500, 'Something went wrong on the server; the details are in its log.');
  if (c.req.path.startsWith('/console/api/')) return errorResponse(c, http);
  for (const [name, value] of Object.entries(http.headers ?? {})) c.header(name, value);
  const title = http.status === 404 ? 'Not found' : http.status === 403 ? 'Refused' : http.status >= 500 ? 'Server error' : 'Something is wrong';
  const body = (
    <Empty title={title} action={<a class="button" href="/console">Go to the overview</a>}>
      {http.message}
    </Empty>
  );
  if (!c.get('session')) return send(c, <Bare title={title}><Card>{body}</Card></Bare>, http.status);
  let here;
  try {
    here = hereOf(c, ctx);
  } catch {
    here = hereOf(c, ctx, ctx.sites.list()[0] ?? null);
  }
  return page(c, { here, title, section: sectionOf(c.req.path), children: <Card>{body}</Card> }, http.status);
}

const sectionOf = (path: string) =>
  (['customers', 'segments', 'offers', 'automations', 'sites'] as const).find((s) => path.startsWith(`/console/${s}`)) ?? 'overview';
