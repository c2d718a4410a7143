import type { MiddlewareHandler } from 'hono';
import type { SiteDirectory } from '../sites/directory.js';

/**
 * CORS for the browser-facing endpoints (`/v1/*`). A preflight carries no key, so it is answered
 * for any origin that some site allows; the real request is then checked against its own site
 * (`checkOrigin`). Errors raised before the site is known still carry the origin, so that the SDK
 * can read why it was refused instead of retrying blindly. Never `*`.
 */
export function collectCors(sites: SiteDirectory): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header('origin');
    const known = origin !== undefined && sites.knowsOrigin(origin);
    if (c.req.method === 'OPTIONS') {
      if (!known) return c.json({ error: `origin ${origin ?? '(none)'} is not allowed by any site` }, 403);
      return c.body(null, 204, {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type',
        'Access-Control-Max-Age': '86400',
        Vary: 'Origin',
      });
    }
    await next();
    if (known && !c.res.headers.has('Access-Control-Allow-Origin') && c.res.status >= 400 && c.res.status !== 403) {
      c.res.headers.set('Access-Control-Allow-Origin', origin);
      c.res.headers.set('Vary', 'Origin');
    }
  };
}
