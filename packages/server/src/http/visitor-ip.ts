import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { PROXY_HEADER, PROXY_SIGNATURE_TTL_S, proxySignedText } from '@rapport/protocol';
import type { AppContext } from '../app-context.js';
import { normalizeIp } from '../enrich/ip.js';
import { clientIp, clientKey } from './client-ip.js';
import type { Site } from '../store/types.js';

/** The visitor a browser-facing call is for, and the site whose proxy vouched for that address. */
export interface VisitorIp {
  ip: string | null;
  /** The address `clientIp` reads (socket, or trusted X-Forwarded-For): what to use when the proxy's word does not count. */
  peer: string | null;
  /** Set when the address came from a first-party proxy's signed header. */
  vouchedBy?: string;
}

/** Longest header read: an address, a time, a write key and a signature fit well within it. */
const MAX_HEADER = 512;

/**
 * The visitor's address. A call forwarded by a site's first-party proxy (`rapportProxy()` of
 * `@rapport/node`) comes from the shop's server, so its socket names the shop, not the visitor:
 * the proxy puts the visitor's address in `x-rapport-proxy`, signed with the site secret, and
 * only a signature that holds (for that write key, within five minutes) is believed. Anything
 * else (no header, a forged or stale one, an unknown key) falls back to `clientIp`, so no one
 * can choose the address that limits and truncation see.
 *
 * @example
 * // x-rapport-proxy: ip=203.0.113.9; t=1764720000; k=wk_live_123; s=<base64url HMAC>
 * visitorIp(c, ctx); // { ip: '203.0.113.9', peer: '198.51.100.4', vouchedBy: 'site_1' }
 */
export function visitorIp(c: Context, ctx: AppContext): VisitorIp {
  const peer = clientIp(c, ctx.options.proxies);
  const header = c.req.header(PROXY_HEADER);
  if (!header || header.length > MAX_HEADER) return { ip: peer, peer };
  const fields = new Map<string, string>();
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const signedIp = fields.get('ip') ?? '';
  const ip = normalizeIp(signedIp);
  const t = Number(fields.get('t'));
  const writeKey = fields.get('k') ?? '';
  const given = Buffer.from(fields.get('s') ?? '', 'base64url');
  if (!ip || !Number.isInteger(t) || Math.abs(ctx.now() / 1000 - t) > PROXY_SIGNATURE_TTL_S || given.length !== 32) {
    return { ip: peer, peer };
  }
  // Only sites already known: this runs before the per-IP limit, so an unknown key must not
  // make anyone wait for a re-read of the sites.
  const site = ctx.sites.cachedByWriteKey(writeKey);
  if (!site) return { ip: peer, peer };
  const expected = createHmac('sha256', site.secret).update(proxySignedText(signedIp, t, writeKey)).digest();
  return timingSafeEqual(given, expected) ? { ip, peer, vouchedBy: site.id } : { ip: peer, peer };
}

/**
 * The visitor's address after the per-IP limit of the browser-facing APIs: the first thing any
 * of their calls costs.
 *
 * @example
 * const visitor = limitedVisitor(c, ctx); // throws 429 past the limit
 */
export function limitedVisitor(c: Context, ctx: AppContext): VisitorIp {
  const visitor = visitorIp(c, ctx);
  ctx.limits.perIp(clientKey(visitor.ip));
  return visitor;
}

/**
 * The address to record for a call of `site`: a proxy vouches for its own site's visitors only,
 * another site's secret proves nothing here.
 *
 * @example
 * const ip = addressFor(visitor, site); // the proxy's visitor, or the peer
 */
export function addressFor(visitor: VisitorIp, site: Site): string | null {
  return visitor.vouchedBy === undefined || visitor.vouchedBy === site.id ? visitor.ip : visitor.peer;
}
