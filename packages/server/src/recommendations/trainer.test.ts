import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingest } from '../collect/pipeline.js';
import { ingestEvent } from '../test-support/events.js';
import { createTestSite, openTestStore, type TestStore } from '../test-support/store.js';
import { DEFAULT_RECOMMENDATIONS, type Site } from '../store/types.js';
import { inThreadSink, trainingDue, trainSite } from './trainer.js';

const T0 = Date.UTC(2026, 10, 3, 12);
const DAY = 86_400_000;
let t: TestStore;
let site: Site;

beforeEach(async () => {
  t = await openTestStore();
  site = await createTestSite(t.store);
});
afterEach(async () => {
  await t.close();
});

const viewed = (anonymousId: string, properties: Record<string, unknown>, at: number) =>
  ingestEvent({ anonymousId, name: 'Product Viewed', properties, message: { properties }, timestamp: at });

describe('trainSite', () => {
  it('learns from the lookback period only, and adds the products of the events as observed without overriding the feed', async () => {
    await t.store.recommendations.upsertProducts([{ siteId: site.id, productId: 'p1', sku: null, name: 'Tent (feed)', price: 100, currency: 'EUR', category: null, url: null, imageUrl: null, available: true, source: 'feed', updatedAt: T0 - DAY }]);
    await ingest(t.store, site, [
      viewed('a1', { product_id: 'old', name: 'Too old' }, T0 - 400 * DAY),
      viewed('a1', { product_id: 'p1', name: 'Tent (seen)', category: 'camping' }, T0 - DAY),
      viewed('a2', { product_id: 'p2', name: 'Stove', price: 30 }, T0 - DAY + 1),
    ]);
    const trained = await trainSite(t.store, site, { now: T0, sink: inThreadSink });
    expect(trained.stats).toMatchObject({ interactions: 2, products: 2 });
    expect(trained.observedProducts).toBe(2);
    const products = new Map((await t.store.recommendations.getProducts(site.id, ['p1', 'p2', 'old'])).map((p) => [p.productId, p]));
    expect(products.get('p1')).toMatchObject({ source: 'feed', name: 'Tent (feed)', category: 'camping' });
    expect(products.get('p2')).toMatchObject({ source: 'observed', name: 'Stove', price: 30 });
    expect(products.has('old')).toBe(false);
    expect(await t.store.recommendations.modelTrainedAt(site.id)).toBe(T0);
  });

  it('reads a site with more events than one page, every one of them', async () => {
    const views = Array.from({ length: 2_500 }, (_, i) => viewed(`a${i % 50}`, { product_id: `p${i % 40}` }, T0 - DAY + i));
    await ingest(t.store, site, views);
    const trained = await trainSite(t.store, site, { now: T0, sink: inThreadSink });
    expect(trained.stats).toMatchObject({ interactions: 2_500, products: 40, people: 50 });
  });
});

describe('trainingDue', () => {
  const withEvery = (trainEveryMinutes: number): Site => ({ ...site, settings: { ...site.settings, recommendations: { ...DEFAULT_RECOMMENDATIONS, trainEveryMinutes } } });
  it('is due without a model and once the period has passed; never when set to on request only', () => {
    expect(trainingDue(withEvery(60), null, T0)).toBe(true);
    expect(trainingDue(withEvery(60), T0 - 59 * 60_000, T0)).toBe(false);
    expect(trainingDue(withEvery(60), T0 - 60 * 60_000, T0)).toBe(true);
    expect(trainingDue(withEvery(0), null, T0)).toBe(false);
  });
});
