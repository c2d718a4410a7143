import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { MAX_MESSAGE_BYTES, type JsonObject, type MessageType } from '@rapport/protocol';
import type { AppContext } from '../app-context.js';
import { HttpError } from '../http/errors.js';
import type { Site } from '../store/types.js';
import { collect, type CollectOutcome } from './collect.js';

/**
 * What the two no-JavaScript endpoints share, the pixel (`GET /v1/p.gif`) and the signed click
 * redirect (`GET /v1/r`): a query read within the collect API's size limit, the visitor's address
 * under the same per-IP limit, and one message recorded through the same `collect()` as
 * `POST /v1/{type}`, so that validation, verification, ingest and automations cannot differ.
 */

/** A transparent 1×1 GIF (43 bytes): what an `<img>` shows whatever happened. */
export const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** The header that says why a hit was refused: an image's body cannot. */
export const ERROR_HEADER = 'X-Rapport-Error';
/** The header that says what was changed about a hit that was stored (collect's warnings). */
export const WARNING_HEADER = 'X-Rapport-Warning';

/**
 * The 1×1 GIF with a status, never cached (each view must reach the server again).
 *
 * @example
 * return gif(c, 401, { [ERROR_HEADER]: 'k: unknown write key' });
 */
export function gif(c: Context, status: ContentfulStatusCode, headers: Record<string, string> = {}): Response {
  return c.body(new Uint8Array(GIF), status, { ...headers, 'Content-Type': 'image/gif', 'Cache-Control': 'no-store' });
}

/**
 * A message fit for a response header: printable ASCII only (anything a visitor typed could hold
 * a line break or a byte that `Headers` refuses), and short.
 *
 * @example
 * headerText('p: must be a JSON object\n'); // 'p: must be a JSON object?'
 */
export function headerText(message: string): string {
  return message.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
}

/**
 * The query's fields named in `fields`, each at most once: a field given twice would let a
 * signer and this server read two different links out of one URL. The whole query is bounded by
 * MAX_MESSAGE_BYTES, as one collect message is, before anything is decoded (413). Other fields
 * (a cache buster, a mail client's own) are ignored.
 *
 * @example
 * readQuery(c, ['k', 'e']); // { k: 'wk_live_123', e: undefined } for ?k=wk_live_123&cb=42
 */
export function readQuery<F extends string>(c: Context, fields: readonly F[]): Record<F, string | undefined> {
  const url = c.req.url;
  const start = url.indexOf('?');
  const search = start < 0 ? '' : url.slice(start + 1);
  if (Buffer.byteLength(search) > MAX_MESSAGE_BYTES) {
    throw new HttpError(413, `the query is larger than ${MAX_MESSAGE_BYTES} bytes, the limit of one message`);
  }
  const params = new URLSearchParams(search);
  const out = {} as Record<F, string | undefined>;
  for (const field of fields) {
    const values = params.getAll(field);
    if (values.length > 1) throw new HttpError(400, `${field}: is given more than once`, [{ field, message: 'is given more than once' }]);
    out[field] = values[0];
  }
  return out;
}

/**
 * A query field that holds JSON: an object, or a 400 naming the field.
 *
 * @example
 * jsonObjectField('p', '{"plan":"pro"}'); // { plan: 'pro' }
 * jsonObjectField('p', '[1]');            // throws 400 "p: must be a JSON object"
 */
export function jsonObjectField(field: string, text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, `${field}: is not valid JSON`, [{ field, message: 'is not valid JSON' }]);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, `${field}: must be a JSON object`, [{ field, message: 'must be a JSON object' }]);
  }
  return value as JsonObject;
}

/**
 * Where a redirect may send a visitor: `url` when it is an absolute http(s) URL with a host,
 * normalized as a browser reads it (the Location header is then exactly what was checked); null
 * for anything else: `javascript:`, `data:`, a scheme-relative `//host`, `https:host` without
 * slashes (which a URL parser would accept), leading spaces or backslashes.
 *
 * @example
 * httpTarget('https://shop.example/cart?x=1'); // 'https://shop.example/cart?x=1'
 * httpTarget('//evil.example/');               // null
 */
export function httpTarget(url: string): string | null {
  if (!/^https?:\/\/[^\s\\/?#@]/i.test(url)) return null;
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname ? parsed.href : null;
  } catch {
    return null;
  }
}

/**
 * The per-site limit as a yes or no, for a caller that goes on either way (a redirect must still redirect).
 *
 * @example
 * if (withinSiteLimit(ctx, site)) await settleWithin(recordClick(), RECORD_WAIT_MS, 'a click');
 */
export function withinSiteLimit(ctx: AppContext, site: Site): boolean {
  try {
    ctx.limits.perSite(site.id);
    return true;
  } catch (error) {
    if (error instanceof HttpError && error.status === 429) return false;
    throw error;
  }
}

export interface Hit {
  site: Site;
  /** The site's server vouched for the ids (a signature of the site secret or of this server's mail key). */
  trusted: boolean;
  /** One message of the Segment spec, its `type` set. */
  message: JsonObject;
  ip: string | null;
  userAgent: string | null;
}

/**
 * Records one message exactly as `POST /v1/{type}` would: the same validation and identity
 * verification, the cookieless id for a message marked `context.cookieless`, the ingest pipeline
 * and the automations it starts. A 400 outcome names the message's field.
 *
 * @example
 * await record(ctx, { site, trusted: false, message: { type: 'page', anonymousId: 'a1' }, ip, userAgent });
 */
export function record(ctx: AppContext, hit: Hit): Promise<CollectOutcome> {
  const { site, ip, userAgent } = hit;
  return collect(
    ctx.ingester,
    {
      site,
      trusted: hit.trusted,
      body: hit.message,
      bodyBytes: Buffer.byteLength(JSON.stringify(hit.message)),
      endpoint: hit.message.type as MessageType,
      clientIp: ip,
      userAgent,
      receivedAt: ctx.now(),
      cookielessId: () => ctx.cookieless.idFor(site.id, ip, userAgent),
    },
    ctx.automations.starter,
  );
}

/** How long a redirect waits for its click to be recorded before it sends the visitor on anyway. */
export const RECORD_WAIT_MS = 2_000;

/**
 * Waits for `work` at most `ms`, and never fails: a failure (the store away) and a late finish
 * are logged. For what must not stand between a visitor and where they are going.
 *
 * @example
 * await settleWithin(recordClick(...), RECORD_WAIT_MS, 'a click of a signed redirect');
 */
export async function settleWithin(work: Promise<unknown>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let late = false;
  const settled = work.then(
    () => {
      if (late) console.error(`rapport: ${what} was recorded after ${ms} ms; the visitor had been sent on`);
    },
    (error: unknown) => console.error(`rapport: could not record ${what}; the visitor was sent on`, error),
  );
  const timeout = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  if ((await Promise.race([settled, timeout])) === 'late') late = true;
  clearTimeout(timer);
}
