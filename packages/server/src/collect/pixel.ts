import { Hono, type Context } from 'hono';
import { MESSAGE_TYPES, type CollectResponse, type JsonObject, type MessageType } from '@rapport/protocol';
import type { AppContext } from '../app-context.js';
import { recordMailOpen } from '../automations/mail-routes.js';
import { checkOrigin } from '../http/auth.js';
import { HttpError, httpErrorOf } from '../http/errors.js';
import { addressFor, limitedVisitor } from '../http/visitor-ip.js';
import { ERROR_HEADER, gif, headerText, jsonObjectField, readQuery, record, WARNING_HEADER } from './hit.js';
import { isObject } from './validate.js';

/** The short query of `/v1/p.gif`; see docs/no-javascript.md. */
export interface PixelQuery {
  /** The site's write key. */
  k: string;
  /** Event name: the hit is a track; without it, a page view. */
  e?: string;
  a?: string;
  u?: string;
  /** `userHash` of `u`: hex(HMAC-SHA256(site secret, u)). */
  h?: string;
  /** Properties, a JSON object. */
  p?: string;
  /** Page URL and its referrer (page views: the URL defaults to the Referer header). */
  url?: string;
  ref?: string;
}

const SHORT_FIELDS = ['k', 'e', 'a', 'u', 'h', 'p', 'url', 'ref'] as const;
const FIELDS = [...SHORT_FIELDS, 'data', 'm'] as const;
type Query = Record<(typeof FIELDS)[number], string | undefined>;

/** Where collect's message fields came from in the short query, so that a refusal names what the sender wrote. */
const QUERY_FIELD: Record<string, string> = {
  anonymousId: 'a',
  userId: 'u',
  event: 'e',
  properties: 'p',
  'context.userHash': 'h',
  'context.page.url': 'url',
  'context.page.referrer': 'ref',
};

/**
 * The tracking pixel: `GET /v1/p.gif` records a page view, or a track with `e`, from where no
 * script runs (a `<noscript>` image, an email), and `GET /v1/pixel/{type}?data=` is Segment's
 * Tracking Pixel API (base64 JSON of one message with its `writeKey`). A mail token (`m`, the
 * open link of an automation email) stands in for the key and marks the send opened.
 *
 * Every answer is the 1×1 GIF, never cached: 200 for a stored hit, else the status the collect
 * API would give (400 naming the field, 401, 403, 413, 429, 503) with `X-Rapport-Error`.
 * Limits, validation and identity rules are the collect API's, through the same `collect()`: a
 * `u` counts only with a valid `h` where the site requires it. A hit without any id gets the
 * cookieless id of the device (identity/cookieless.ts), so that one device's hits of one day
 * land on one anonymous profile.
 *
 * @example
 * // <noscript><img src="https://rapport.example.com/v1/p.gif?k=wk_123&url=https%3A%2F%2Fshop.example%2Ftrips" alt=""></noscript>
 * app.route('/v1', pixelRoutes(ctx));
 */
export function pixelRoutes(ctx: AppContext) {
  const app = new Hono();
  app.get('/p.gif', (c) => answer(c, ctx, null));
  for (const type of MESSAGE_TYPES) app.get(`/pixel/${type}`, (c) => answer(c, ctx, type));
  return app;
}

/**
 * The URL of a pixel hit, its fields encoded.
 *
 * @example
 * pixelUrl('https://rapport.example.com', { k: site.writeKey, e: 'Offer Viewed', a: 'a1', p: '{"offerId":"off_1"}' });
 * // 'https://rapport.example.com/v1/p.gif?k=wk_...&e=Offer+Viewed&a=a1&p=%7B%22offerId%22...'
 */
export function pixelUrl(base: string, query: PixelQuery): string {
  const params = new URLSearchParams();
  for (const field of SHORT_FIELDS) if (query[field] !== undefined) params.set(field, query[field]!);
  return `${base.replace(/\/+$/, '')}/v1/p.gif?${params}`;
}

async function answer(c: Context, ctx: AppContext, pathType: MessageType | null): Promise<Response> {
  try {
    const stored = await hit(c, ctx, pathType);
    const warning = stored?.warnings?.[0];
    return gif(c, 200, warning ? { [WARNING_HEADER]: headerText(warning.field ? `${warning.field}: ${warning.message}` : warning.message) } : {});
  } catch (error) {
    // The app's handler would answer JSON, which an image cannot show: here every outcome is the GIF.
    const http = httpErrorOf(error);
    if (!http) console.error('rapport: unexpected error on', c.req.method, c.req.path, error);
    return gif(c, http?.status ?? 500, { ...http?.headers, [ERROR_HEADER]: headerText(http?.message ?? 'internal error') });
  }
}

/** The collect answer of a stored hit; null for a mail open, which answers nothing more. */
async function hit(c: Context, ctx: AppContext, pathType: MessageType | null): Promise<CollectResponse | null> {
  const visitor = limitedVisitor(c, ctx);
  const q: Query = readQuery(c, pathType ? (['k', 'data'] as const) : FIELDS) as Query;
  const userAgent = c.req.header('user-agent') ?? null;

  if (q.m !== undefined) {
    const link = await ctx.automations.links.read('o', q.m);
    const site = link && ctx.sites.get(link.siteId);
    if (!link || !site) throw new HttpError(401, 'm: is not an open link of an email of this server');
    ctx.limits.perSite(site.id);
    await recordMailOpen(ctx, site, link, { ip: addressFor(visitor, site), userAgent });
    return null;
  }

  const data = q.data === undefined ? null : decodeData(q.data);
  if (data) {
    const mixed = SHORT_FIELDS.find((f) => f !== 'k' && q[f] !== undefined);
    if (mixed) throw new HttpError(400, `${mixed}: give either data or the short fields, not both`, [{ field: mixed, message: 'give either data or the short fields' }]);
  }
  const writeKey = q.k ?? (typeof data?.writeKey === 'string' ? data.writeKey : undefined);
  if (!writeKey) throw new HttpError(401, 'k: the write key is required (or "writeKey" in data)');
  const site = await ctx.sites.findByWriteKey(writeKey);
  if (!site) throw new HttpError(401, 'k: unknown write key');
  // An image carries no Origin; a page that sends one anyway (a crossorigin image, a fetch) must be one of the site's.
  checkOrigin(c, { site, trusted: false });
  ctx.limits.perSite(site.id);

  const message = data ? fromData(data, pathType) : fromQuery(c, q);
  const context = message.context as JsonObject;
  context.source ??= 'pixel';
  // Nothing to tell this device by (an email has no cookie): the server derives its id for the day.
  if (!nonEmpty(message.anonymousId) && !nonEmpty(message.userId)) context.cookieless = true;

  const outcome = await record(ctx, { site, trusted: false, message, ip: addressFor(visitor, site), userAgent });
  if (outcome.status !== 200) {
    const field = (outcome.body.details?.[0] as { field?: string } | undefined)?.field;
    const named = field && (data ? `data.${field}` : queryField(field));
    throw new HttpError(400, named ? `${named}: ${outcome.body.error}` : outcome.body.error, outcome.body.details);
  }
  return outcome.body;
}

/** A page view, or a track when `e` is given, from the short query. */
function fromQuery(c: Context, q: Query): JsonObject {
  const type = q.e === undefined ? 'page' : 'track';
  const context: JsonObject = { library: { name: 'rapport-pixel' } };
  if (q.h !== undefined) context.userHash = q.h;
  // A page view's image is requested by the page itself: without `url`, the Referer names it
  // (often only its origin, under the default referrer policy).
  const url = q.url ?? (type === 'page' ? c.req.header('referer') : undefined);
  if (url !== undefined || q.ref !== undefined) {
    context.page = { ...(url !== undefined ? { url } : {}), ...(q.ref !== undefined ? { referrer: q.ref } : {}) };
  }
  return {
    type,
    ...(q.e !== undefined ? { event: q.e } : {}),
    // An empty id is no id: the hit then gets the cookieless one.
    ...(nonEmpty(q.a) ? { anonymousId: q.a } : {}),
    ...(nonEmpty(q.u) ? { userId: q.u } : {}),
    properties: q.p === undefined ? {} : jsonObjectField('p', q.p),
    context,
  };
}

/** Segment's form: the whole message, its `writeKey` included. `/v1/p.gif` takes page views and tracks only. */
function fromData(data: JsonObject, pathType: MessageType | null): JsonObject {
  const message: JsonObject = { ...data };
  delete message.writeKey;
  if (!pathType) {
    const type = message.type ?? (message.event === undefined ? 'page' : 'track');
    if (type !== 'page' && type !== 'track') {
      throw new HttpError(400, 'data.type: /v1/p.gif records a page or a track; send other types to /v1/pixel/<type>', [
        { field: 'data.type', message: 'must be page or track' },
      ]);
    }
    message.type = type;
  } else {
    if (message.type !== undefined && message.type !== pathType) {
      throw new HttpError(400, `data.type: type "${String(message.type)}" does not match the endpoint /v1/pixel/${pathType}`, [
        { field: 'data.type', message: `must be ${pathType}` },
      ]);
    }
    message.type = pathType;
  }
  if (message.context === undefined || message.context === null) message.context = {};
  if (!isObject(message.context)) throw new HttpError(400, 'data.context: must be a JSON object', [{ field: 'data.context', message: 'must be a JSON object' }]);
  message.context = { ...message.context };
  return message;
}

/**
 * `data` as Segment's pixel sends it: base64 of the JSON (either alphabet, padding optional), or
 * the JSON itself, which Segment's docs allow too. A `+` of standard base64 that was not escaped
 * arrives as a space.
 */
function decodeData(text: string): JsonObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return jsonObjectField('data', trimmed);
  if (!/^[A-Za-z0-9+/_ -]*={0,2}$/.test(trimmed)) throw new HttpError(400, 'data: is not base64', [{ field: 'data', message: 'is not base64' }]);
  return jsonObjectField('data', Buffer.from(trimmed.replace(/ /g, '+'), 'base64').toString('utf8'));
}

function queryField(field: string): string {
  if (QUERY_FIELD[field]) return QUERY_FIELD[field];
  if (field.startsWith('properties.')) return `p.${field.slice('properties.'.length)}`;
  return field;
}

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value !== '';
