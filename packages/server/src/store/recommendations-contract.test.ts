import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingest } from '../collect/pipeline.js';
import { ingestEvent } from '../test-support/events.js';
import { createTestSite, openTestStore, type TestStore } from '../test-support/store.js';
import { propertiesOf } from './recommendation-rows.js';
import type { ProductRecord } from './recommendations.js';
import type { Store } from './store.js';
import type { Site } from './types.js';

// The recommendation part of the store contract, on every store (the vitest project `postgres`
// runs it on PostgreSQL): the catalog's feed-over-observed rule, the scans of e-commerce events,
// and the saved model.

let t: TestStore;
let store: Store;
let site: Site;

beforeEach(async () => {
  t = await openTestStore();
  store = t.store;
  site = await createTestSite(store);
});
afterEach(async () => {
  await t.close();
});

const T0 = Date.UTC(2026, 10, 1, 12);
const product = (productId: string, fields: Partial<ProductRecord> = {}): ProductRecord => ({
  siteId: site.id,
  productId,
  sku: null,
  name: null,
  price: null,
  currency: null,
  category: null,
  url: null,
  imageUrl: null,
  available: null,
  source: 'observed',
  updatedAt: T0,
  ...fields,
});

describe('products', () => {
  it('a feed row replaces what events said; an event fills only the gaps of a feed product', async () => {
    const recs = store.recommendations;
    await recs.upsertProducts([product('p1', { name: 'Tent (seen)', price: 90, category: 'camping' }), product('p2', { name: 'Stove' })]);
    await recs.upsertProducts([product('p1', { source: 'feed', name: 'Tent 2P', price: 120, available: true, imageUrl: null, updatedAt: T0 + 1 })]);
    await recs.upsertProducts([product('p1', { name: 'Tent (seen again)', price: 80, imageUrl: 'https://cdn.example/tent.jpg', updatedAt: T0 + 2 })]);
    await recs.upsertProducts([product('p2', { name: 'Stove 2', price: 30, updatedAt: T0 + 3 })]);
    const [p1, p2] = (await recs.getProducts(site.id, ['p1', 'p2', 'nope'])).sort((a, b) => a.productId.localeCompare(b.productId));
    expect(p1).toMatchObject({ productId: 'p1', source: 'feed', name: 'Tent 2P', price: 120, available: true, category: null, imageUrl: 'https://cdn.example/tent.jpg' });
    expect(p2).toMatchObject({ productId: 'p2', source: 'observed', name: 'Stove 2', price: 30, available: null });
    await recs.upsertProducts([product('p3', { source: 'feed', available: false })]);
    expect(await recs.countProducts(site.id)).toEqual({ feed: 2, observed: 1, unavailable: 1 });
  });

  it('applies the rows of one call in order, a product given twice included, and takes thousands at once', async () => {
    const recs = store.recommendations;
    await recs.upsertProducts([
      product('p1', { source: 'feed', name: 'Tent 2P', price: 120 }),
      product('p2', { name: 'Stove' }),
      product('p1', { name: 'Tent (seen)', price: 80, category: 'camping' }),
      ...Array.from({ length: 6_000 }, (_, i) => product(`bulk-${i}`, { source: 'feed', price: i })),
    ]);
    const [p1] = await recs.getProducts(site.id, ['p1']);
    expect(p1).toMatchObject({ source: 'feed', name: 'Tent 2P', price: 120, category: 'camping' });
    expect(await recs.countProducts(site.id)).toEqual({ feed: 6_001, observed: 1, unavailable: 0 });
    expect((await recs.getProducts(site.id, ['bulk-5999']))[0].price).toBe(5_999);
  });

  it('lists by id, filters by text and category, and pages', async () => {
    const recs = store.recommendations;
    await recs.upsertProducts(['a', 'b', 'c', 'd'].map((id, i) => product(id, { name: `Item ${id.toUpperCase()}_%`, category: i % 2 ? 'odd' : 'even', sku: `SKU-${id}` })));
    const first = await recs.listProducts({ siteId: site.id, limit: 3 });
    expect(first.items.map((p) => p.productId)).toEqual(['a', 'b', 'c']);
    const second = await recs.listProducts({ siteId: site.id, limit: 3, cursor: first.nextCursor });
    expect(second.items.map((p) => p.productId)).toEqual(['d']);
    expect(second.nextCursor).toBeNull();
    expect((await recs.listProducts({ siteId: site.id, limit: 10, q: 'item b' })).items.map((p) => p.productId)).toEqual(['b']);
    expect((await recs.listProducts({ siteId: site.id, limit: 10, q: 'sku-c' })).items.map((p) => p.productId)).toEqual(['c']);
    // Wildcards typed by a user are text.
    expect((await recs.listProducts({ siteId: site.id, limit: 10, q: '%' })).items).toHaveLength(4);
    expect((await recs.listProducts({ siteId: site.id, limit: 10, q: 'x%y' })).items).toHaveLength(0);
    expect((await recs.listProducts({ siteId: site.id, limit: 10, category: 'odd' })).items.map((p) => p.productId)).toEqual(['b', 'd']);
  });
});

describe('product events', () => {
  it('scans the e-commerce events oldest first in pages, and a person’s newest first', async () => {
    const events = [
      ingestEvent({ anonymousId: 'a1', name: 'Product Viewed', properties: { product_id: 'p1' }, message: { properties: { product_id: 'p1' } }, timestamp: T0 }),
      ingestEvent({ anonymousId: 'a1', name: 'Clicked', timestamp: T0 + 1 }),
      ingestEvent({ anonymousId: 'a1', name: 'Product Added', properties: { product_id: 'p1' }, message: { properties: { product_id: 'p1' } }, timestamp: T0 + 2 }),
      ingestEvent({ anonymousId: 'a2', name: 'Product Viewed', properties: { product_id: 'p2' }, message: { properties: { product_id: 'p2' } }, timestamp: T0 + 2 }),
      ingestEvent({ anonymousId: 'a1', name: 'Order Completed', properties: { order_id: 'o1', products: [{ product_id: 'p1' }] }, message: { properties: { order_id: 'o1', products: [{ product_id: 'p1' }] } }, timestamp: T0 + 3 }),
      ingestEvent({ type: 'page', name: 'Product Viewed', anonymousId: 'a1', timestamp: T0 + 4 }),
    ];
    await ingest(store, site, events);
    const recs = store.recommendations;
    const page1 = await recs.productEvents(site.id, T0, null, 2);
    const last = page1.at(-1)!;
    const page2 = await recs.productEvents(site.id, T0, { at: last.at, seq: last.seq }, 10);
    const all = [...page1, ...page2];
    expect(all.map((e) => [e.event, e.at - T0])).toEqual([
      ['Product Viewed', 0],
      ['Product Added', 2],
      ['Product Viewed', 2],
      ['Order Completed', 3],
    ]);
    expect(all[3].properties).toEqual({ order_id: 'o1', products: [{ product_id: 'p1' }] });
    expect(all[0].sessionId).toEqual(expect.any(String));
    expect(await recs.productEvents(site.id, T0 + 3, null, 10)).toHaveLength(1);
    const person = all[0].profileId;
    expect((await recs.profileProductEvents(site.id, person, 2)).map((e) => e.event)).toEqual(['Order Completed', 'Product Added']);

    // The training's pages: the same rows, the same paging, their JSON left to the reader.
    const texts1 = await recs.productEventTexts(site.id, T0, null, 2);
    const texts2 = await recs.productEventTexts(site.id, T0, { at: texts1.at(-1)!.at, seq: texts1.at(-1)!.seq }, 10);
    const texts = [...texts1, ...texts2];
    expect(texts.map(({ data, ...row }) => ({ ...row, properties: propertiesOf(data) }))).toEqual(all);
  });

  it('scans other events of the list when asked: the clicks of recommended items beside orders', async () => {
    const click = { offerId: 'of1', product_id: 'p2', position: 1 };
    await ingest(store, site, [
      ingestEvent({ anonymousId: 'a1', name: 'Product Viewed', properties: { product_id: 'p1' }, message: { properties: { product_id: 'p1' } }, timestamp: T0 }),
      ingestEvent({ anonymousId: 'a1', name: 'Product Clicked', properties: click, message: { properties: click }, timestamp: T0 + 1 }),
      ingestEvent({ anonymousId: 'a1', name: 'Order Completed', properties: { order_id: 'o1' }, message: { properties: { order_id: 'o1' } }, timestamp: T0 + 2 }),
    ]);
    const rows = await store.recommendations.productEvents(site.id, T0, null, 10, ['Product Clicked', 'Order Completed']);
    expect(rows.map((e) => e.event)).toEqual(['Product Clicked', 'Order Completed']);
    expect(rows[0].properties).toEqual(click);
    // Not among what training reads.
    expect((await store.recommendations.productEvents(site.id, T0, null, 10)).map((e) => e.event)).toEqual(['Product Viewed', 'Order Completed']);
  });
});

describe('models', () => {
  it('keeps one model per site, replaced by the next training', async () => {
    const recs = store.recommendations;
    expect(await recs.loadModel(site.id)).toBeNull();
    expect(await recs.modelStatus(site.id)).toBeNull();
    expect(await recs.modelTrainedAt(site.id)).toBeNull();
    await recs.saveModel({ siteId: site.id, trainedAt: T0, stats: { products: 1 }, data: '{"a":1}' });
    await recs.saveModel({ siteId: site.id, trainedAt: T0 + 5, stats: { products: 2 }, data: '{"a":2}' });
    expect(await recs.loadModel(site.id)).toEqual({ siteId: site.id, trainedAt: T0 + 5, stats: { products: 2 }, data: '{"a":2}' });
    expect(await recs.modelTrainedAt(site.id)).toBe(T0 + 5);
    expect(await recs.modelStatus(site.id)).toEqual({ siteId: site.id, trainedAt: T0 + 5, stats: { products: 2 } });
    expect(await recs.modelStatus('site_other')).toBeNull();
  });
});
