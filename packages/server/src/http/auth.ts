import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { SiteDirectory } from '../sites/directory.js';
import type { Site } from '../store/types.js';
import type { LoginThrottle } from '../console/access/login-throttle.js';
import { HttpError } from './errors.js';

export interface SiteAuth {
  site: Site;
  /** Authenticated with the site secret: a server-side caller, trusted with user ids and IPs. */
  trusted: boolean;
}

/**
 * Authenticates a collect or decide call from its headers: HTTP Basic with the write key as user
 * name, or `Bearer <site secret>`. Returns null when the headers carry no credentials (the body
 * may: see `siteFromBody`).
 */
export async function siteFromHeaders(c: Context, sites: SiteDirectory): Promise<SiteAuth | null> {
  const header = c.req.header('authorization');
  if (!header) return null;
  const [scheme, value = ''] = header.trim().split(/\s+/, 2);
  if (scheme.toLowerCase() === 'basic') {
    // Buffer skips characters that are not base64 instead of throwing: garbage is an unknown key.
    const user = Buffer.from(value, 'base64').toString('utf8').split(':')[0];
    const site = await sites.findByWriteKey(user);
    if (!site) throw new HttpError(401, 'unknown write key');
    return { site, trusted: false };
  }
  if (scheme.toLowerCase() === 'bearer') {
    const site = await sites.findBySecret(value);
    if (!site) throw new HttpError(401, 'unknown site secret');
    return { site, trusted: true };
  }
  throw new HttpError(401, `unsupported authorization scheme ${scheme}: use Basic (write key) or Bearer (site secret)`);
}

/** Authenticates from `writeKey` in a JSON body: what sendBeacon, which cannot set headers, does. */
export async function siteFromBody(body: unknown, sites: SiteDirectory): Promise<SiteAuth> {
  const writeKey = body !== null && typeof body === 'object' ? (body as { writeKey?: unknown }).writeKey : undefined;
  if (writeKey === undefined) {
    throw new HttpError(401, 'missing write key: send it as the HTTP Basic user name or as "writeKey" in the body');
  }
  const site = typeof writeKey === 'string' ? await sites.findByWriteKey(writeKey) : undefined;
  if (!site) throw new HttpError(401, 'unknown write key');
  return { site, trusted: false };
}

/**
 * Write keys are public, so a browser call must come from one of the site's origins; the answer
 * then carries that origin (never `*`) so the SDK can read it. Calls without an Origin header
 * (servers) and calls with the secret pass.
 */
export function checkOrigin(c: Context, auth: SiteAuth) {
  const origin = c.req.header('origin');
  if (!origin) return;
  if (auth.site.origins.includes(origin)) {
    c.header('Access-Control-Allow-Origin', origin);
    c.header('Vary', 'Origin');
    return;
  }
  if (!auth.trusted) {
    throw new HttpError(403, `origin ${origin} is not allowed for this site; add it to the site's origins`);
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Constant-time comparison of secrets of any length. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Requires `Authorization: Bearer <admin token>` on the admin JSON API. Wrong tokens are
 * throttled per client as console logins are: past the limit every call from that client is
 * refused with 429, the right token included, until the window frees up.
 *
 * @example
 * app.use('/api/*', adminAuth(() => token, { throttle: new LoginThrottle(), clientOf: (c) => clientKey(clientIp(c, null)) }));
 */
export function adminAuth(
  token: () => string,
  guard: { throttle: LoginThrottle; clientOf: (c: Context) => string | null },
): MiddlewareHandler {
  return async (c, next) => {
    const client = guard.clientOf(c) ?? 'unknown';
    const wait = guard.throttle.retryAfter(client);
    if (wait > 0) {
      throw new HttpError(429, `too many wrong admin tokens from this client; retry after ${wait} s`, undefined, {
        'Retry-After': String(wait),
      });
    }
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match || !sameSecret(match[1], token())) {
      guard.throttle.fail(client);
      throw new HttpError(401, 'this API needs the admin token as "Authorization: Bearer <token>"', undefined, {
        'WWW-Authenticate': 'Bearer realm="rapport"',
      });
    }
    await next();
  };
}
