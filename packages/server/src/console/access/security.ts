import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { sameSecret } from '../../http/auth.js';
import { HttpError } from '../../http/errors.js';
import { ClientClosed } from '../../http/read-body.js';
import type { ConsoleEnv } from '../env.js';

/**
 * The console's Content-Security-Policy: scripts, styles and connections from the server
 * itself only (no inline script or style, so injected markup could not run even if it got
 * through the escaping), no framing, forms that post only here. Images may also come from any
 * https origin: product pages show the shop's product images from its CDN (with
 * `Referrer-Policy: same-origin`, those requests name no console page).
 */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; " +
  "frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/** Security headers on every console answer, errors and static files included. */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const h = c.res.headers;
    h.set('Content-Security-Policy', CONSOLE_CSP);
    h.set('X-Content-Type-Options', 'nosniff');
    h.set('Referrer-Policy', 'same-origin');
    h.set('X-Frame-Options', 'DENY');
    // Pages show personal data: never kept by a shared cache or the back button of another user.
    if (!h.has('Cache-Control')) h.set('Cache-Control', 'no-store');
  };
}

/**
 * The origin of the server as the browser sees it, e.g. `https://crm.example.com`. Behind a
 * reverse proxy (`trustProxy`), X-Forwarded-Proto and X-Forwarded-Host tell it.
 */
export function requestOrigin(c: Context, trustProxy: boolean): string {
  const url = new URL(c.req.url);
  const proto = trustProxy ? firstOf(c.req.header('x-forwarded-proto')) : undefined;
  const host = (trustProxy ? firstOf(c.req.header('x-forwarded-host')) : undefined) ?? c.req.header('host') ?? url.host;
  return `${proto === 'https' || proto === 'http' ? proto : url.protocol.slice(0, -1)}://${host}`;
}

export const isHttps = (c: Context, trustProxy: boolean) => requestOrigin(c, trustProxy).startsWith('https:');

const firstOf = (header: string | undefined) => header?.split(',')[0].trim().toLowerCase() || undefined;

/**
 * Refuses a state-changing request sent by another site: its Origin (or, without one, its
 * Referer) must name this server's host. Hosts are compared, not schemes, so that a proxy that
 * ends TLS in front of a server without `trustProxy` does not lock everyone out; a request
 * with neither header (not a browser) must still carry the session's CSRF token.
 */
export function checkSameOrigin(c: Context, trustProxy: boolean) {
  const from = c.req.header('origin') ?? c.req.header('referer');
  if (from === undefined) return;
  let host: string;
  try {
    host = new URL(from).host;
  } catch {
    throw new HttpError(403, 'this request comes from another site (Origin header); the console refuses it');
  }
  const own = new URL(requestOrigin(c, trustProxy)).host;
  if (host.toLowerCase() !== own.toLowerCase()) {
    throw new HttpError(403, 'this request comes from another site (Origin header); the console refuses it');
  }
}

const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data'];

/**
 * The fields of a console form post. A client that left before its body was complete is
 * `ClientClosed` (counted, not logged as a crash); a body that is no form is a 400.
 *
 * @example
 * const { token } = await formBody(c);
 */
export async function formBody(c: Context) {
  try {
    return await c.req.parseBody();
  } catch {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (incoming && !incoming.complete) throw new ClientClosed();
    throw new HttpError(400, 'the form could not be read: send it as application/x-www-form-urlencoded or multipart/form-data');
  }
}

/**
 * CSRF protection of every POST under /console: the request comes from this server's pages
 * (Origin) and carries the session's token, as the `_csrf` field of a form or the
 * `X-CSRF-Token` header of a script's JSON call. SameSite=Strict cookies already keep other
 * sites out in current browsers; this holds where they do not.
 */
export function csrfProtection(trustProxy: boolean): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      checkSameOrigin(c, trustProxy);
      const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
      let given = c.req.header('x-csrf-token');
      if (given === undefined && FORM_TYPES.includes(type)) {
        const field = (await formBody(c))._csrf;
        given = typeof field === 'string' ? field : undefined;
      }
      if (!given || !sameSecret(given, c.get('session').csrf)) {
        throw new HttpError(403, 'this form has expired or did not come from the console: reload the page and try again');
      }
    }
    await next();
  };
}
