import type { MiddlewareHandler } from 'hono';
import type { SiteDirectory } from '../sites/directory.js';

/**
 * Request headers that browser SDKs of the Segment spec send, so that their preflights pass:
 * analytics-next adds `X-Retry-Count` to retries; RudderStack's browser SDK (v3) sends
 * `AnonymousId` and `SentAt` on every request, and on a retried or recovered one the `Rsa-*`
 * headers of 3.20 and later, or their earlier names (`Retry-Attempt`, `Retried-After`,
 * `Retried-After-First`, `Reclaimed`). A preflight that lacked one would fail exactly the
 * retries, so the events that already failed once would be lost. A fixed list, not an echo of
 * what the preflight asks for: Rapport reads none of these, but must let the browser send them.
 */
export const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Content-Encoding',
  'X-Retry-Count',
  'AnonymousId',
  'SentAt',
  'Rsa-Recovered',
  'Rsa-Retry-Attempt',
  'Rsa-Retry-Reason',
  'Rsa-Since-Last-Attempt',
  'Rsa-Since-First-Attempt',
  'Retry-Attempt',
  'Retried-After',
  'Retried-After-First',
  'Reclaimed',
].join(', ');

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
        'Access-Control-Allow-Headers': ALLOWED_HEADERS,
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
