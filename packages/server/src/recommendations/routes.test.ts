import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { userHashOf } from '../identity/verify.js';
import { startTestApp, type TestApp } from '../test-support/app.js';

// Recommendations through the HTTP API on every store (the vitest project `postgres` runs this
// file on PostgreSQL): events in, a training on its thread, answers with catalog fields and
// reasons, the identity rule of decide, product cards in a slot, and the report of an offer.

const T0 = Date.UTC(2026, 10, 2, 12);
const HOUR = 3_600_000;
let t: TestApp;

beforeEach(async () => {
  t = await startTestApp(T0);
});
afterEach(async () => {
  await t.close();
});

const product = (id: string, category = 'camping') => ({ product_id: id, name: `Product ${id}`, price: 10, currency: 'EUR', category, url: `https://shop.example/p/${id}`, image_url: `https://cdn.shop.example/${id}.jpg` });
const view = (anonymousId: string, id: string, session: string, at: number) => ({ type: 'track', anonymousId, event: 'Product Viewed', properties: product(id), context: { sessionId: session }, timestamp: new Date(at).toISOString() });
const order = (anonymousId: string, orderId: string, ids: string[], at: number) => ({
  type: 'track',
  anonymousId,
  event: 'Order Completed',
  properties: { order_id: orderId, revenue: 10 * ids.length, currency: 'EUR', products: ids.map((id) => ({ ...product(id), quantity: 1 })) },
  timestamp: new Date(at).toISOString(),
});

/** Ten shoppers who view and buy a tent with its pegs, and a stove now and then. */
async function shop() {
  const batch = [];
  for (let i = 0; i < 10; i++) {
    const a = `shopper-${i}`;
    batch.push(view(a, 'tent', `s-${i}`, T0 - 10 * HOUR + i), view(a, 'pegs', `s-${i}`, T0 - 10 * HOUR + i + 1));
    batch.push(order(a, `o-${i}`, i % 3 === 0 ? ['tent', 'pegs', 'stove'] : ['tent', 'pegs'], T0 - 9 * HOUR + i));
  }
  batch.push(view('loner', 'stove', 's-loner', T0 - 8 * HOUR));
  const res = await t.send('/v1/batch', { batch });
  expect(res.status).toBe(200);
  const trained = await t.api('POST', `/api/recommendations/train?site=${t.site.id}`);
  expect(trained.status).toBe(200);
  return trained.body;
}

describe('POST /v1/recommendations', () => {
  it('answers bought-together with the catalog fields and the reason, from a model trained on its thread', async () => {
    const trained = await shop();
    expect(trained.stats).toMatchObject({ orders: 10, products: 3 });
    const res = await t.send('/v1/recommendations', { anonymousId: 'someone', strategy: 'bought-together', productId: 'tent', limit: 5 });
    expect(res.status).toBe(200);
    expect(res.body.items[0]).toMatchObject({ productId: 'pegs', name: 'Product pegs', price: 10, currency: 'EUR', url: 'https://shop.example/p/pegs', imageUrl: 'https://cdn.shop.example/pegs.jpg' });
    expect(res.body.items[0].reason).toMatch(/bought together with tent/);
    expect(res.body.items.map((i: { productId: string }) => i.productId)).not.toContain('tent');
    // The products of the events are in the catalog as observed.
    expect((await t.api('GET', `/api/recommendations/status?site=${t.site.id}`)).body).toMatchObject({ products: { feed: 0, observed: 3 }, stats: { orders: 10 } });
  });

  it('never recommends a product the feed marks unavailable', async () => {
    await shop();
    await t.store.recommendations.upsertProducts([{ siteId: t.site.id, productId: 'pegs', sku: null, name: 'Pegs', price: 5, currency: 'EUR', category: 'camping', url: null, imageUrl: null, available: false, source: 'feed', updatedAt: T0 }]);
    const res = await t.send('/v1/recommendations', { anonymousId: 'someone', strategy: 'bought-together', productId: 'tent' });
    expect(res.body.items.map((i: { productId: string }) => i.productId)).toEqual(['stove']);
  });

  it('starts "bought together" from what the visitor last looked at, and "for you" from their history', async () => {
    await shop();
    await t.send('/v1/track', view('newcomer', 'tent', 's-new', T0));
    const together = await t.send('/v1/recommendations', { anonymousId: 'newcomer', strategy: 'bought-together' });
    expect(together.body.items[0].productId).toBe('pegs');
    const forYou = await t.send('/v1/recommendations', { anonymousId: 'newcomer', strategy: 'for-you', limit: 3 });
    expect(forYou.status).toBe(200);
    expect(forYou.body.items.length).toBeGreaterThan(0);
    const trending = await t.send('/v1/recommendations', { anonymousId: 'nobody-yet', strategy: 'trending', limit: 2 });
    // The two products everyone viewed and bought, before the stove.
    expect(trending.body.items.map((i: { productId: string }) => i.productId).sort()).toEqual(['pegs', 'tent']);
  });

  it('lets a user id select a customer only with its userHash', async () => {
    await shop();
    await t.send('/v1/batch', { batch: [{ type: 'identify', anonymousId: 'shopper-1', userId: 'u-1' }, view('shopper-1', 'stove', 's-x', T0)] });
    const bare = await t.send('/v1/recommendations', { userId: 'u-1', strategy: 'bought-together' });
    // Without the hash nobody is selected: no history to start from.
    expect(bare.body.items).toEqual([]);
    const verified = await t.send('/v1/recommendations', { userId: 'u-1', strategy: 'bought-together', context: { userHash: userHashOf(t.site.secret, 'u-1') } });
    expect(verified.body.items.length).toBeGreaterThan(0);
  });

  it('answers an empty list before any training', async () => {
    const res = await t.send('/v1/recommendations', { anonymousId: 'a', strategy: 'trending' });
    expect(res.body).toEqual({ strategy: 'trending', items: [], trainedAt: null });
  });

  it('refuses bad input with a 400 naming the field', async () => {
    for (const [body, field] of [
      [{ anonymousId: 'a' }, 'strategy'],
      [{ anonymousId: 'a', strategy: 'everything' }, 'strategy'],
      [{ anonymousId: 'a', strategy: 'trending', limit: 0 }, 'limit'],
      [{ anonymousId: 'a', strategy: 'trending', limit: 51 }, 'limit'],
      [{ anonymousId: 'a', strategy: 'trending', limit: 2.5 }, 'limit'],
      [{ anonymousId: 'a', strategy: 'bought-together', productId: 'x'.repeat(201) }, 'productId'],
      [{ strategy: 'trending' }, 'anonymousId'],
      [{ anonymousId: 'a', strategy: 'trending', context: 'no' }, 'context'],
    ] as const) {
      const res = await t.send('/v1/recommendations', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatch(new RegExp(`^${field}`));
    }
  });
});

describe('an offer of product cards', () => {
  it('is filled in by decide for the visitor, and its report counts clicks and attributed orders against control', async () => {
    await shop();
    const created = await t.api('POST', '/api/offers', { site: t.site.id, name: 'Goes with it', slot: 'pdp-recs', content: { type: 'recommendations', strategy: 'bought-together', limit: 2, title: 'Goes with it' } });
    expect(created.status).toBe(201);
    await t.send('/v1/track', view('buyer', 'tent', 's-b', T0));
    const decided = await t.send('/v1/decide', { anonymousId: 'buyer', slots: ['pdp-recs'] });
    const content = decided.body.slots['pdp-recs'].content;
    expect(content).toMatchObject({ type: 'recommendations', strategy: 'bought-together', title: 'Goes with it' });
    expect(content.items.map((i: { productId: string }) => i.productId)).toEqual(['pegs', 'stove']);
    // A visitor without anything to start from keeps the default.
    expect((await t.send('/v1/decide', { anonymousId: 'stranger', slots: ['pdp-recs'] })).body.slots['pdp-recs'].content).toBeNull();

    const offerId = created.body.id;
    const props = { offerId, slot: 'pdp-recs', variant: 'offer' };
    t.clock.now = T0 + HOUR;
    await t.send('/v1/batch', {
      batch: [
        { type: 'track', anonymousId: 'buyer', event: 'Offer Viewed', properties: props, timestamp: new Date(T0 + 1000).toISOString() },
        { type: 'track', anonymousId: 'buyer', event: 'Product List Viewed', properties: { ...props, strategy: 'bought-together', products: [{ product_id: 'pegs', position: 1 }] }, timestamp: new Date(T0 + 1000).toISOString() },
        { type: 'track', anonymousId: 'buyer', event: 'Product Clicked', properties: { ...props, strategy: 'bought-together', product_id: 'pegs', position: 1 }, timestamp: new Date(T0 + 2000).toISOString() },
        order('buyer', 'o-buyer', ['tent', 'pegs'], T0 + 3000),
        { type: 'track', anonymousId: 'held-out', event: 'Offer Control Exposed', properties: { ...props, variant: 'control' }, timestamp: new Date(T0 + 1000).toISOString() },
      ],
    });
    const report = await t.api('GET', `/api/offers/${offerId}/report`);
    expect(report.status).toBe(200);
    expect(report.body.recommendations).toMatchObject({
      strategy: 'bought-together',
      impressions: 1,
      clicks: 1,
      clickThroughRate: 1,
      byPosition: [{ position: 1, clicks: 1 }],
      // Only the clicked product's line counts for the recommendation; the order's whole revenue counts for the group.
      attributed: { orders: 1, revenue: 10 },
      offer: { visitors: 1, buyers: 1, orders: 1, revenue: 20, revenuePerVisitor: 20 },
      control: { visitors: 1, buyers: 0, orders: 0, revenue: 0, revenuePerVisitor: 0 },
    });
    expect(report.body.recommendations.products[0]).toMatchObject({ productId: 'pegs', clicks: 1, attributedOrders: 1, attributedRevenue: 10 });
  });

  it("reads the visitor's history once for every slot of cards on the page", async () => {
    await shop();
    for (const [slot, strategy] of [['a', 'bought-together'], ['b', 'for-you'], ['c', 'viewed-together']]) {
      expect((await t.api('POST', '/api/offers', { site: t.site.id, name: slot, slot, content: { type: 'recommendations', strategy } })).status).toBe(201);
    }
    await t.send('/v1/track', view('reader', 'tent', 's-r', T0));
    const reads = vi.spyOn(t.store.recommendations, 'profileProductEvents');
    const decided = await t.send('/v1/decide', { anonymousId: 'reader', slots: ['a', 'b', 'c'] });
    expect(decided.body.slots.a.content.items[0].productId).toBe('pegs');
    expect(decided.body.slots.b.content.items.length).toBeGreaterThan(0);
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it('refuses recommendations content that names no strategy or has other fields', async () => {
    const bad = async (content: unknown) => (await t.api('POST', '/api/offers', { site: t.site.id, name: 'x', slot: 's', content })).body.error;
    expect(await bad({ type: 'recommendations' })).toMatch(/^content\.strategy: must be one of/);
    expect(await bad({ type: 'recommendations', strategy: 'trending', limit: 99 })).toMatch(/^content\.limit/);
    expect(await bad({ type: 'recommendations', strategy: 'trending', link: 'https://x.example' })).toMatch(/^content\.link: unknown field/);
    expect(await bad({ type: 'banner' })).toMatch(/^content\.type/);
  });
});
