import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProductRecord } from '../store/recommendations.js';
import { startTestApp, type TestApp } from '../test-support/app.js';
import { FEED_BODY_LIMIT } from './product-routes.js';

// The catalog's admin API through the whole app, on the store under test (the vitest project
// `postgres` runs it on PostgreSQL too).

const T0 = Date.UTC(2026, 10, 3, 8);
const TOKEN = { authorization: 'Bearer test-admin-token' };
let t: TestApp;

beforeEach(async () => {
  t = await startTestApp(T0);
});
afterEach(async () => {
  await t.close();
});

/** A feed upload; the parsed answer. */
async function put(body: BodyInit, type: string, options: { site?: string; headers?: Record<string, string> } = {}) {
  const response = await t.app.request(`/api/products?site=${options.site ?? t.site.id}`, {
    method: 'PUT',
    headers: { ...TOKEN, 'content-type': type, ...options.headers },
    body,
    // A stream body needs this in Node's fetch.
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}
const get = (path: string) => t.api('GET', path);
const jsonl = (...rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n');

const CSV = [
  'product_id,name,price,category,url,image_url,available',
  'p1,"Tent, 2 person",120.00,camping,https://shop.example/p1,https://cdn.example/p1.jpg,in stock',
  'p2,Stove,-5,camping,,,',
  'p3,Mug,8.5,kitchen,javascript:alert(1),,',
  'p4,Lamp,15,camping,,,out of stock',
].join('\r\n');

describe('PUT /api/products', () => {
  it('imports a CSV feed: good rows stored as the feed, bad rows reported by line and field', async () => {
    const res = await put(CSV, 'text/csv; charset=utf-8');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      imported: 2,
      errors: [
        { line: 3, field: 'price', message: expect.any(String) },
        { line: 4, field: 'url', message: 'must be an absolute http or https URL' },
      ],
      errorCount: 2,
    });
    const p1 = await get(`/api/products/p1?site=${t.site.id}`);
    expect(p1.status).toBe(200);
    expect(p1.body).toEqual({
      site: t.site.id,
      productId: 'p1',
      sku: null,
      name: 'Tent, 2 person',
      price: 120,
      currency: null,
      category: 'camping',
      url: 'https://shop.example/p1',
      imageUrl: 'https://cdn.example/p1.jpg',
      available: true,
      source: 'feed',
      updatedAt: new Date(T0).toISOString(),
    });
    expect((await get(`/api/products/p2?site=${t.site.id}`)).status).toBe(404);
    expect((await get(`/api/products/stats?site=${t.site.id}`)).body).toEqual({ site: t.site.id, feed: 2, observed: 0, unavailable: 1, total: 2 });
  });

  it('takes JSON lines and a JSON array under each JSON content type', async () => {
    expect((await put(jsonl({ product_id: 'a' }, { product_id: 'b' }), 'application/x-ndjson')).body.imported).toBe(2);
    expect((await put(jsonl({ product_id: 'c' }), 'application/jsonl')).body.imported).toBe(1);
    expect((await put(jsonl({ product_id: 'd' }), 'application/json')).body.imported).toBe(1);
    const array = await put(JSON.stringify([{ product_id: 'e', price: 3 }, { product_id: 'f', price: 'free' }]), 'application/json');
    expect(array.body).toEqual({ imported: 1, errors: [{ line: 1, field: 'price', message: expect.any(String) }], errorCount: 1 });
    expect((await get(`/api/products/stats?site=${t.site.id}`)).body.feed).toBe(5);
  });

  it('answers 400 when no row was good, and for an empty body or bytes that are not UTF-8', async () => {
    const none = await put(jsonl({ name: 'no id' }, { product_id: 'x', price: -1 }), 'application/x-ndjson');
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ error: expect.stringMatching(/^no row of the feed/), imported: 0, errorCount: 2 });
    expect(none.body.errors.map((e: any) => [e.line, e.field])).toEqual([
      [1, 'product_id'],
      [2, 'price'],
    ]);
    const header = await put('id,name\n1,x\n', 'text/csv');
    expect(header.status).toBe(400);
    expect(header.body.errors).toEqual([{ line: 1, message: expect.stringMatching(/no product_id column/) }]);
    expect((await put('', 'text/csv')).status).toBe(400);
    const latin1 = await put(new Uint8Array([...Buffer.from('product_id,name\n1,Caf'), 0xe9, 0x0a]), 'text/csv');
    expect(latin1.status).toBe(400);
    expect(latin1.body.error).toMatch(/UTF-8/);
    // A header only: nothing to import, nothing wrong.
    expect((await put('product_id,name\n', 'text/csv')).body).toEqual({ imported: 0, errors: [], errorCount: 0 });
  });

  it('needs the admin token, a known site, and a feed content type', async () => {
    const anonymous = await t.app.request(`/api/products?site=${t.site.id}`, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: CSV });
    expect(anonymous.status).toBe(401);
    const unknown = await put(CSV, 'text/csv', { site: 'site_nope' });
    expect(unknown.status).toBe(404);
    const missing = await put(CSV, 'text/csv', { site: '' });
    expect(missing.status).toBe(400);
    expect(missing.body.details[0].field).toBe('site');
    const plain = await put(CSV, 'text/plain');
    expect(plain.status).toBe(415);
    expect(plain.body.error).toMatch(/text\/csv, application\/x-ndjson, application\/jsonl, application\/json/);
    expect((await put(CSV, 'text/csv; charset=iso-8859-1')).status).toBe(415);
    expect((await put(CSV, 'text/csv', { headers: { 'content-encoding': 'br' } })).status).toBe(415);
    expect((await put(CSV, 'text/csv', { headers: { 'content-encoding': 'gzip' } })).status).toBe(400);
    expect((await get(`/api/products/stats?site=${t.site.id}`)).body.total).toBe(0);
  });

  it('takes a gzip feed, the limit holding for what it inflates to', async () => {
    const zipped = await put(new Uint8Array(gzipSync(CSV)), 'text/csv', { headers: { 'content-encoding': 'gzip' } });
    expect(zipped.status).toBe(200);
    expect(zipped.body.imported).toBeGreaterThan(0);
    const bomb = await put(new Uint8Array(gzipSync(Buffer.alloc(FEED_BODY_LIMIT + 1, 0x61))), 'text/csv', { headers: { 'content-encoding': 'gzip' } });
    expect(bomb.status).toBe(413);
  });

  it('answers 413 past the body limit, declared or streamed, and stores nothing', async () => {
    const declared = await put('product_id\n1\n', 'text/csv', { headers: { 'content-length': String(FEED_BODY_LIMIT + 1) } });
    expect(declared.status).toBe(413);
    expect(declared.headers.get('connection')).toBe('close');
    const chunk = new TextEncoder().encode(`${'p\n'.repeat(512 * 1024)}`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('product_id\n'));
      },
      pull(controller) {
        // One MB at a time, past the limit: the reader must stop early, not read it all.
        if (sent > FEED_BODY_LIMIT * 4) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const streamed = await put(stream, 'text/csv');
    expect(streamed.status).toBe(413);
    expect(sent).toBeLessThan(FEED_BODY_LIMIT + 4 * chunk.length);
    expect((await get(`/api/products/stats?site=${t.site.id}`)).body.total).toBe(0);
  });

  it('writes a large feed in chunks, the later duplicate winning', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => ({ product_id: `p${String(i).padStart(5, '0')}`, price: i }));
    const res = await put(jsonl(...rows, { product_id: 'p00000', price: 99 }), 'application/x-ndjson');
    expect(res.body).toEqual({ imported: 2500, errors: [], errorCount: 0 });
    expect((await get(`/api/products/stats?site=${t.site.id}`)).body.feed).toBe(2500);
    expect((await get(`/api/products/p00000?site=${t.site.id}`)).body.price).toBe(99);
  });

  it('the feed wins over what events said about a product', async () => {
    const observed: ProductRecord = {
      siteId: t.site.id,
      productId: 'p1',
      sku: 'SEEN',
      name: 'Tent (seen)',
      price: 90,
      currency: 'EUR',
      category: 'tents',
      url: null,
      imageUrl: 'https://cdn.example/seen.jpg',
      available: null,
      source: 'observed',
      updatedAt: T0 - 1000,
    };
    await t.store.recommendations.upsertProducts([observed, { ...observed, productId: 'p9' }]);
    t.clock.now = T0 + 60_000;
    expect((await put(jsonl({ product_id: 'p1', name: 'Tent 2P', price: 120, available: false }), 'application/x-ndjson')).status).toBe(200);
    const p1 = (await get(`/api/products/p1?site=${t.site.id}`)).body;
    // The feed is the shop's word: what it leaves out is unknown, not what events guessed.
    expect(p1).toMatchObject({ source: 'feed', name: 'Tent 2P', price: 120, available: false, sku: null, category: null, imageUrl: null, updatedAt: new Date(T0 + 60_000).toISOString() });
    expect((await get(`/api/products/p9?site=${t.site.id}`)).body).toMatchObject({ source: 'observed', name: 'Tent (seen)' });
    expect((await get(`/api/products/stats?site=${t.site.id}`)).body).toEqual({ site: t.site.id, feed: 1, observed: 1, unavailable: 1, total: 2 });
  });
});

describe('GET /api/products', () => {
  beforeEach(async () => {
    const rows = ['a', 'b', 'c', 'd', 'e'].map((id, i) => ({ product_id: id, name: `Item ${id.toUpperCase()}`, sku: `SKU-${id}`, category: i % 2 ? 'odd' : 'even' }));
    expect((await put(jsonl(...rows, { product_id: 'x/y z', name: 'Slashed' }), 'application/x-ndjson')).body.imported).toBe(6);
  });

  it('lists by id in pages, and filters by text and category', async () => {
    const first = await get(`/api/products?site=${t.site.id}&limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items.map((p: any) => p.productId)).toEqual(['a', 'b']);
    expect(first.body.items[0]).toMatchObject({ site: t.site.id, name: 'Item A', source: 'feed' });
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await get(`/api/products?site=${t.site.id}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      ids.push(...page.body.items.map((p: any) => p.productId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(ids).toEqual(['a', 'b', 'c', 'd', 'e', 'x/y z']);
    expect((await get(`/api/products?site=${t.site.id}`)).body.items).toHaveLength(6);
    expect((await get(`/api/products?site=${t.site.id}&q=item%20c`)).body.items.map((p: any) => p.productId)).toEqual(['c']);
    expect((await get(`/api/products?site=${t.site.id}&q=sku-d`)).body.items.map((p: any) => p.productId)).toEqual(['d']);
    expect((await get(`/api/products?site=${t.site.id}&category=odd`)).body.items.map((p: any) => p.productId)).toEqual(['b', 'd']);
    expect((await get(`/api/products?site=${t.site.id}&q=&category=`)).body.items).toHaveLength(6);
  });

  it('shows one product by id, also one with a slash; 404 for an unknown one or site', async () => {
    expect((await get(`/api/products/${encodeURIComponent('x/y z')}?site=${t.site.id}`)).body).toMatchObject({ productId: 'x/y z', name: 'Slashed' });
    const unknown = await get(`/api/products/nope?site=${t.site.id}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('no product nope in this site');
    expect((await get('/api/products/a?site=site_nope')).status).toBe(404);
    expect((await get('/api/products?site=site_nope')).status).toBe(404);
    expect((await get('/api/products/stats?site=site_nope')).status).toBe(404);
  });

  it('answers bad query parameters with a 400 naming the field', async () => {
    const field = async (query: string) => {
      const res = await get(`/api/products?${query}`);
      expect(res.status, query).toBe(400);
      return res.body.details[0].field;
    };
    expect(await field('limit=0&site=' + t.site.id)).toBe('limit');
    expect(await field('limit=201&site=' + t.site.id)).toBe('limit');
    expect(await field('limit=ten&site=' + t.site.id)).toBe('limit');
    expect(await field('cursor=garbage&site=' + t.site.id)).toBe('cursor');
    expect(await field(`cursor=${Buffer.from('[1]').toString('base64url')}&site=${t.site.id}`)).toBe('cursor');
    expect(await field(`q=${'x'.repeat(201)}&site=${t.site.id}`)).toBe('q');
    expect(await field(`category=${'x'.repeat(201)}&site=${t.site.id}`)).toBe('category');
    expect(await field('')).toBe('site');
    expect(await field('site=&limit=5')).toBe('site');
  });
});
