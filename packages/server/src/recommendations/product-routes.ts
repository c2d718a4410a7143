import { Hono, type Context } from 'hono';
import type { AppContext } from '../app-context.js';
import { HttpError } from '../http/errors.js';
import { cursorParam, limitParam, optionalString } from '../http/input.js';
import { readTextBody } from '../http/read-body.js';
import { siteOf } from '../sites/routes.js';
import { decodeCursorParts } from '../store/cursor.js';
import type { ProductRecord } from '../store/recommendations.js';
import { parseFeed, type FeedFormat } from './feed.js';

/** Largest feed body: a catalog of 100,000 products with long URLs fits. */
export const FEED_BODY_LIMIT = 20 * 1024 * 1024;
/** Products per store write: each is one transaction, so that other writers get their turn. */
const WRITE_CHUNK = 1000;

/** The content types a feed may be sent as, and how each is read. */
const FEED_TYPES = new Map<string, FeedFormat>([
  ['text/csv', 'csv'],
  ['application/x-ndjson', 'jsonl'],
  ['application/jsonl', 'jsonl'],
  // A JSON array of objects, or JSON lines labelled as JSON: parseFeed tells them apart.
  ['application/json', 'jsonl'],
]);

/** A product as the admin API shows it. */
export const productJson = (p: ProductRecord) => ({
  site: p.siteId,
  productId: p.productId,
  sku: p.sku,
  name: p.name,
  price: p.price,
  currency: p.currency,
  category: p.category,
  url: p.url,
  imageUrl: p.imageUrl,
  available: p.available,
  source: p.source,
  updatedAt: new Date(p.updatedAt).toISOString(),
});

/**
 * `/api/products`: the catalog of a site. `PUT` imports the shop's feed (CSV or JSON lines);
 * `GET` lists, shows one product, and counts.
 *
 * @example
 * // curl -X PUT 'http://localhost:8787/api/products?site=s1' -H 'Authorization: Bearer …' \
 * //   -H 'Content-Type: text/csv' --data-binary @feed.csv
 * // → 200 { "imported": 1200, "errors": [{ "line": 17, "field": "price", "message": "…" }], "errorCount": 1 }
 * app.route('/api/products', productRoutes(ctx));
 */
export function productRoutes(ctx: AppContext) {
  const app = new Hono();

  app.put('/', async (c) => {
    // What can be refused without reading the body is refused first.
    const format = feedFormat(c);
    const site = siteOf(ctx, c.req.query('site'));
    const { text } = await readTextBody(c, FEED_BODY_LIMIT, 'the feed');
    const { rows, errors, errorCount } = parseFeed(text, format);
    const now = ctx.now();
    // Chunk by chunk, not one transaction: a feed is idempotent, so a failure half-way is
    // mended by sending it again, and other writers are not held up by one big import.
    for (let i = 0; i < rows.length; i += WRITE_CHUNK) {
      const chunk = rows.slice(i, i + WRITE_CHUNK).map((row): ProductRecord => ({ ...row, siteId: site.id, source: 'feed', updatedAt: now }));
      await ctx.store.recommendations.upsertProducts(chunk);
    }
    if (rows.length) ctx.recommender.invalidateProducts(site.id);
    if (rows.length === 0 && errorCount > 0) {
      return c.json({ error: `no row of the feed could be imported (${errorCount} errors)`, imported: 0, errors, errorCount }, 400);
    }
    return c.json({ imported: rows.length, errors, errorCount });
  });

  app.get('/', async (c) => {
    const query = c.req.query();
    const site = siteOf(ctx, query.site);
    const page = await ctx.store.recommendations.listProducts({
      siteId: site.id,
      q: optionalString(query, 'q', { max: 200 }) || undefined,
      category: optionalString(query, 'category', { max: 200 }) || undefined,
      limit: limitParam(query.limit, 50, 200),
      cursor: cursorParam(query.cursor, productCursor),
    });
    return c.json({ items: page.items.map(productJson), nextCursor: page.nextCursor });
  });

  // Before `/:productId`, which would take `stats` for a product id.
  app.get('/stats', async (c) => {
    const site = siteOf(ctx, c.req.query('site'));
    const counts = await ctx.store.recommendations.countProducts(site.id);
    return c.json({ site: site.id, ...counts, total: counts.feed + counts.observed });
  });

  app.get('/:productId', async (c) => {
    const site = siteOf(ctx, c.req.query('site'));
    const productId = c.req.param('productId');
    const [product] = await ctx.store.recommendations.getProducts(site.id, [productId]);
    if (!product) throw new HttpError(404, `no product ${productId} in this site`);
    return c.json(productJson(product));
  });

  return app;
}

/** The stores page products by id: their cursor is that one id. */
function productCursor(cursor: string) {
  const parts = decodeCursorParts(cursor);
  return parts && parts.length === 1 && typeof parts[0] === 'string' ? parts : null;
}

/** The feed's format from its Content-Type; 415 for any other type or a charset other than UTF-8. */
function feedFormat(c: Context): FeedFormat {
  const [type = '', ...params] = (c.req.header('content-type') ?? '').split(';');
  const format = FEED_TYPES.get(type.trim().toLowerCase());
  const accepted = [...FEED_TYPES.keys()].join(', ');
  if (!format) throw new HttpError(415, `content type ${type.trim() || '(none)'} is not accepted: send the feed as ${accepted}`);
  for (const param of params) {
    const [name, value = ''] = param.split('=', 2).map((s) => s.trim().toLowerCase());
    if (name === 'charset' && !['utf-8', 'utf8', '"utf-8"'].includes(value)) {
      throw new HttpError(415, `charset ${value} is not accepted: send the feed as UTF-8`);
    }
  }
  return format;
}
