import { createHmac, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { CAPTURE_EVENTS, redirectSignedText, type JsonObject, type RedirectQuery } from '@rapport/protocol';
import type { AppContext } from '../app-context.js';
import { followMailClick } from '../automations/mail-routes.js';
import { HttpError, httpErrorOf } from '../http/errors.js';
import type { Site } from '../store/types.js';
import { addressFor, limitedVisitor } from '../http/visitor-ip.js';
import {
  ERROR_HEADER,
  headerText,
  httpTarget,
  jsonObjectField,
  readQuery,
  record,
  RECORD_WAIT_MS,
  settleWithin,
  withinSiteLimit,
} from './hit.js';

const SIGNED_FIELDS = ['k', 'to', 'e', 'a', 'u', 'p', 'x'] as const;
const FIELDS = [...SIGNED_FIELDS, 's', 'm'] as const;
/** An HMAC-SHA256 in base64url without padding. */
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

/**
 * The signature `s` of a click redirect: base64url(HMAC-SHA256(site secret,
 * redirectSignedText(query))), the text of @rapport/protocol, so that the site's server and this
 * one sign the same bytes.
 *
 * @example
 * const s = signRedirect(site.secret, { k: site.writeKey, to: 'https://shop.example/trips', u: 'u-42' });
 */
export function signRedirect(secret: string, query: RedirectQuery): string {
  return createHmac('sha256', secret).update(redirectSignedText(query), 'utf8').digest('base64url');
}

/**
 * A signed click redirect at `base` (this server's public URL): the query's fields and their `s`.
 *
 * @example
 * redirectUrl('https://rapport.example.com', site.secret, { k: site.writeKey, to: 'https://shop.example/trips', e: 'Offer Clicked' });
 * // 'https://rapport.example.com/v1/r?k=wk_...&to=https%3A%2F%2Fshop.example%2Ftrips&e=Offer+Clicked&s=...'
 */
export function redirectUrl(base: string, secret: string, query: RedirectQuery): string {
  const params = new URLSearchParams();
  for (const field of SIGNED_FIELDS) if (query[field] !== undefined) params.set(field, query[field]!);
  params.set('s', signRedirect(secret, query));
  return `${base.replace(/\/+$/, '')}/v1/r?${params}`;
}

/**
 * `GET /v1/r`: a click redirect that records the click and sends the visitor to `to`. Never an
 * open redirect: `to` goes out only when the site's secret signed it together with everything
 * the click records (any field changed, added or dropped breaks the signature), before the
 * expiry `x`, and only to an absolute http(s) URL. A mail token (`m`, a link of an automation
 * email signed with this server's mail key) stands in for `k` and `s`.
 *
 * A valid link records `e` (default `Link Clicked`) with the properties of `p` and `url: to` for
 * `a` / `u` as a trusted message (the site signed the ids), through the same `collect()` as the
 * collect API, then answers 302. The visitor always reaches the target of a valid link: a
 * recording that fails (the store away) or is slow (past `RECORD_WAIT_MS`) is logged, not
 * waited for. Anything else is a small HTML page "This link is not valid" with a 4xx and no
 * Location.
 *
 * @example
 * app.route('/v1', redirectRoutes(ctx));
 * // <a href="https://rapport.example.com/v1/r?k=wk_123&to=https%3A%2F%2Fshop.example%2F&u=u-42&s=...">
 */
export function redirectRoutes(ctx: AppContext) {
  const app = new Hono();
  app.get('/r', async (c) => {
    try {
      return await follow(c, ctx);
    } catch (error) {
      const http = httpErrorOf(error);
      if (!http) console.error('rapport: unexpected error on', c.req.method, c.req.path, error);
      return refuse(c, http ?? new HttpError(500, 'internal error'));
    }
  });
  return app;
}

async function follow(c: Context, ctx: AppContext): Promise<Response> {
  const visitor = limitedVisitor(c, ctx);
  const q = readQuery(c, FIELDS);
  const userAgent = c.req.header('user-agent') ?? null;

  if (q.m !== undefined) {
    const link = await ctx.automations.links.read('c', q.m);
    const site = link && ctx.sites.get(link.siteId);
    const target = link?.url && httpTarget(link.url);
    if (!link || !site || !target) throw new HttpError(403, 'm: is not a link of an email of this server');
    if (withinSiteLimit(ctx, site)) await followMailClick(ctx, site, link, { ip: addressFor(visitor, site), userAgent });
    return away(c, target);
  }

  if (!q.k) throw new HttpError(400, 'k: the write key is required', [{ field: 'k', message: 'is required' }]);
  if (q.to === undefined) throw new HttpError(400, 'to: the target is required', [{ field: 'to', message: 'is required' }]);
  const target = httpTarget(q.to);
  if (!target) throw new HttpError(400, 'to: must be an absolute http(s) URL', [{ field: 'to', message: 'must be an absolute http(s) URL' }]);
  if (q.s === undefined) throw new HttpError(403, 's: the link is not signed');
  const site = await ctx.sites.findByWriteKey(q.k);
  if (!site) throw new HttpError(401, 'k: unknown write key');
  const signed: RedirectQuery = { k: q.k, to: q.to, e: q.e, a: q.a, u: q.u, p: q.p, x: q.x };
  if (!validSignature(site.secret, signed, q.s)) throw new HttpError(403, 's: the signature does not match the link');
  // Checked after the signature: only a link the site really made is ever called expired.
  if (q.x !== undefined) {
    if (!/^\d{1,15}$/.test(q.x)) throw new HttpError(400, 'x: must be unix seconds', [{ field: 'x', message: 'must be unix seconds' }]);
    if (Number(q.x) * 1000 <= ctx.now()) throw new HttpError(403, 'x: the link has expired');
  }
  const properties = q.p === undefined ? {} : jsonObjectField('p', q.p);
  // Past the site's limit the click goes unrecorded, but the visitor still gets where the site sent them.
  if (withinSiteLimit(ctx, site)) {
    const ip = addressFor(visitor, site);
    await settleWithin(recordClick(ctx, site, { ...signed, to: target }, properties, ip, userAgent), RECORD_WAIT_MS, 'the click of a signed redirect');
  }
  return away(c, target);
}

function validSignature(secret: string, query: RedirectQuery, given: string): boolean {
  if (!SIGNATURE.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, 'base64url'), Buffer.from(signRedirect(secret, query), 'base64url'));
}

/** The click as a message of the person the site signed for; without one, the device's cookieless id. */
async function recordClick(ctx: AppContext, site: Site, q: RedirectQuery, properties: JsonObject, ip: string | null, userAgent: string | null) {
  const trusted = Boolean(q.a || q.u);
  const context: JsonObject = { source: 'redirect', library: { name: 'rapport-redirect' } };
  if (trusted) {
    // A trusted message's device and address come from its context, not from the request.
    if (ip) context.ip = ip;
    if (userAgent) context.userAgent = userAgent;
  } else context.cookieless = true;
  const message: JsonObject = {
    type: 'track',
    event: q.e ?? CAPTURE_EVENTS.link,
    ...(q.a ? { anonymousId: q.a } : {}),
    ...(q.u ? { userId: q.u } : {}),
    properties: { ...properties, url: q.to },
    context,
  };
  const outcome = await record(ctx, { site, trusted, message, ip, userAgent });
  if (outcome.status !== 200) throw new Error(`the message was refused: ${outcome.body.error}`);
}

function away(c: Context, target: string): Response {
  // Not cached: a browser that kept the redirect would skip recording the next click.
  return c.body(null, 302, { Location: target, 'Cache-Control': 'no-store' });
}

function refuse(c: Context, error: HttpError): Response {
  const html =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<meta name="robots" content="noindex"><title>Link not valid</title>' +
    '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style></head>' +
    `<body><h1>This link is not valid</h1><p>${escapeHtml(reasonOf(error))}</p></body></html>`;
  return c.html(html, error.status, {
    ...error.headers,
    [ERROR_HEADER]: headerText(error.message),
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
}

function reasonOf(error: HttpError): string {
  if (error.status === 429) return 'Too many requests: please try again in a moment.';
  if (error.status === 403 && error.message.startsWith('x:')) return 'It has expired.';
  if (error.status >= 500) return 'Something went wrong on our side: please try again later.';
  return 'It may have been changed or cut short. Please use the link exactly as you received it.';
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
