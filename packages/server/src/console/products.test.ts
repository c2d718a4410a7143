import { afterEach, describe, expect, it } from 'vitest';
import { parseModel } from '../recommendations/models/index.js';
import { recommendationReport } from '../recommendations/report.js';
import { ConsoleBrowser, consoleTestApp, loggedInConsoles, pageHtml, textOf } from './test-support/console-client.js';
import { money, pct } from './ui/format.js';

// The console's side of recommendations: the catalog with the model's status and its training,
// a product's neighbours, "for you" on a person's page, offers of product cards and their report.

type TestApp = Awaited<ReturnType<typeof consoleTestApp>>;
const setup = loggedInConsoles();


const html = pageHtml;

const HOUR = 3_600_000;
const SCRIPT = '<script>x</script>';

const product = (id: string, name = `Product ${id}`) => ({
  product_id: id, name, price: 10, currency: 'EUR', category: 'camping', url: `https://shop.example/p/${id}`, image_url: `https://cdn.shop.example/${id}.jpg`,
});

/**
 * Ten shoppers who view a tent and its pegs in one session and buy both (every third one a stove
 * too), and one visitor who looks at a product whose name is markup.
 */
async function shop(t: TestApp) {
  const at = (ms: number) => new Date(t.clock.now - ms).toISOString();
  const batch: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 10; i++) {
    const a = `shopper-${i}`;
    for (const [n, id] of ['tent', 'pegs'].entries()) {
      batch.push({ type: 'track', anonymousId: a, event: 'Product Viewed', properties: product(id), context: { sessionId: `s-${i}` }, timestamp: at(10 * HOUR - i * 1000 - n) });
    }
    const ids = i % 3 === 0 ? ['tent', 'pegs', 'stove'] : ['tent', 'pegs'];
    batch.push({
      type: 'track', anonymousId: a, event: 'Order Completed', timestamp: at(9 * HOUR - i * 1000),
      properties: { order_id: `o-${i}`, revenue: 10 * ids.length, currency: 'EUR', products: ids.map((id) => ({ ...product(id), quantity: 1 })) },
    });
  }
  batch.push({ type: 'track', anonymousId: 'markup', event: 'Product Viewed', properties: product('evil', SCRIPT), timestamp: at(8 * HOUR) });
  await t.collect(batch);
}

async function train(t: TestApp, b: ConsoleBrowser) {
  await html(b, `/console/products?site=${t.site.id}`);
  const res = await b.post('/console/products/train', { site: t.site.id });
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe(`/console/products?site=${t.site.id}&done=trained`);
}

describe('the products page', () => {
  it('shows the model status before and after a training from the console', async () => {
    const { t, b } = await setup();
    await shop(t);
    const before = await html(b, `/console/products?site=${t.site.id}`);
    expect(before).toMatch(/class="nav-link active" href="\/console\/products\?site=[^"]+"/);
    const text = textOf(before);
    expect(text).toContain('Trained not trained yet');
    expect(text).toContain('Trained again every 60 minutes, from 180 days of events.');
    // Products of events join the catalog with a training.
    expect(text).toContain('No products yet');
    expect(before).toMatch(/<form method="post" action="\/console\/products\/train"[\s\S]*?name="_csrf"[\s\S]*?name="site" value="[^"]+"[\s\S]*?Train now/);

    // A post without the session's token trains nothing.
    expect((await b.post('/console/products/train', { site: t.site.id }, { csrf: 'forged' })).status).toBe(403);
    expect(await t.store.recommendations.loadModel(t.site.id)).toBeNull();

    await train(t, b);
    const stored = (await t.store.recommendations.loadModel(t.site.id))!;
    const stats = parseModel(stored.data)!.stats;
    const after = textOf(await html(b, `/console/products?site=${t.site.id}&done=trained`));
    expect(after).toContain('The recommendations are trained again');
    expect(after).not.toContain('not trained yet');
    expect(after).toContain('Products 4 0 from the feed, 4 observed, 0 unavailable');
    expect(after).toContain(`In the model ${stats.products}`);
    expect(after).toContain(`Learned from 10 orders ${stats.sessions} sessions, ${stats.people} people`);
    expect(stats.people).toBe(11);
    expect(after).toContain(`Bought together ${pct(stats.coverage.boughtTogether)} of products have a neighbour`);
    expect(after).toContain(`Viewed together ${pct(stats.coverage.viewedTogether)} of products have a neighbour`);
    expect(after).toContain('Training time');
    for (const name of ['Product tent', 'Product pegs', 'Product stove']) expect(after).toContain(name);

    const search = textOf(await html(b, `/console/products?site=${t.site.id}&q=peg`));
    expect(search).toContain('Product pegs');
    expect(search).not.toContain('Product tent');
    expect(textOf(await html(b, `/console/products?site=${t.site.id}&category=none`))).toContain('No product matches');
    expect((await b.get(`/console/products?site=${t.site.id}&cursor=nonsense`)).status).toBe(400);
  });

  it('pages through the catalog with the store cursor', async () => {
    const { t, b } = await setup();
    const rows = Array.from({ length: 55 }, (_, i) => ({
      siteId: t.site.id, productId: `p-${String(i).padStart(2, '0')}`, sku: null, name: null, price: null, currency: null, category: null, url: null, imageUrl: null,
      available: null, source: 'feed' as const, updatedAt: t.clock.now,
    }));
    await t.store.recommendations.upsertProducts(rows);
    const first = await html(b, `/console/products?site=${t.site.id}`);
    expect(first).toContain('href="/console/products/p-49?site=');
    expect(first).not.toContain('href="/console/products/p-50?site=');
    const next = /href="(\/console\/products\?site=[^"]+&amp;cursor=[^"]+)" rel="next"/.exec(first)![1].replace(/&amp;/g, '&');
    const second = await html(b, next);
    expect(second).toContain('href="/console/products/p-54?site=');
    expect(second).not.toContain('href="/console/products/p-00?site=');
    expect(textOf(second)).toContain('Back to the start');
  });
});

describe('a product page', () => {
  it('lists what is bought and viewed together with it, from the stored model', async () => {
    const { t, b } = await setup();
    await shop(t);
    await train(t, b);
    const model = parseModel((await t.store.recommendations.loadModel(t.site.id))!.data)!;
    const pegs = model.boughtTogether.tent.find((a) => a.productId === 'pegs')!;
    const page = await html(b, `/console/products/tent?site=${t.site.id}`);
    const text = textOf(page);
    expect(text).toContain('Product tent');
    expect(text).toContain('Source Observed');
    expect(text).toContain('Availability Not said');
    expect(text).toContain('Price 10.00 EUR');
    expect(page).toContain('<img src="https://cdn.shop.example/tent.jpg"');
    expect(text).toContain(`Product pegs pegs ${pegs.count} ${pct(pegs.support)} ${pct(pegs.confidence)} ${pegs.lift.toFixed(2)}`);
    expect(pegs.count).toBe(10);
    const viewed = model.viewedTogether.tent.find((n) => n.productId === 'pegs')!;
    expect(text).toContain('Sessions together');
    expect(text).toContain(`Product pegs pegs ${viewed.count} ${viewed.score.toFixed(2)}`);
    expect(page).toContain(`href="/console/products/pegs?site=${t.site.id}"`);

    const missing = await html(b, `/console/products/nope?site=${t.site.id}`, 404);
    expect(textOf(missing)).toContain('There is no product nope in Shop.');
    // Ids are the shop's: one named like an Object property has no neighbours, and an odd one is encoded.
    await t.store.recommendations.upsertProducts(
      ['constructor', 'a b/c?d'].map((productId) => ({
        siteId: t.site.id, productId, sku: null, name: null, price: null, currency: null, category: null, url: null, imageUrl: 'javascript:alert(1)',
        available: false, source: 'feed' as const, updatedAt: t.clock.now,
      })),
    );
    const odd = await html(b, `/console/products/constructor?site=${t.site.id}`);
    expect(textOf(odd)).toContain('No product is in at least 2 orders with this one yet.');
    expect(textOf(odd)).toContain('Availability Unavailable');
    expect(odd).not.toContain('<img');
    const list = await html(b, `/console/products?site=${t.site.id}`);
    expect(list).toContain(`href="/console/products/a%20b%2Fc%3Fd?site=${t.site.id}"`);
    expect(textOf(await html(b, `/console/products/a%20b%2Fc%3Fd?site=${t.site.id}`))).toContain('a b/c?d');
  });

  it('escapes product names everywhere', async () => {
    const { t, b } = await setup();
    await shop(t);
    await train(t, b);
    for (const path of [`/console/products?site=${t.site.id}`, `/console/products/evil?site=${t.site.id}`]) {
      const page = await html(b, path);
      expect(page, path).not.toContain(SCRIPT);
      expect(page, path).toContain('&lt;script&gt;x&lt;/script&gt;');
    }
  });
});

describe('a person page', () => {
  it('shows what "for you" recommends them, or why nothing', async () => {
    const { t, b } = await setup();
    await shop(t);
    await t.collect([{ type: 'track', anonymousId: 'newcomer', event: 'Product Viewed', properties: product('tent'), timestamp: new Date(t.clock.now - HOUR).toISOString() }]);
    const newcomer = (await t.store.findProfileId(t.site.id, 'anonymous', 'newcomer'))!;
    const untrained = textOf(await html(b, `/console/customers/${newcomer}`));
    expect(untrained).toContain('Recommended for you');
    expect(untrained).toContain('the recommendations of this site are not trained');

    await train(t, b);
    const expected = await t.app.recommender.recommend(t.site, { strategy: 'for-you', profileId: newcomer, limit: 6 });
    expect(expected.items.length).toBeGreaterThan(0);
    const page = await html(b, `/console/customers/${newcomer}`);
    const first = expected.items[0];
    expect(page).toContain(`href="/console/products/${first.productId}?site=${t.site.id}"`);
    expect(textOf(page)).toContain(`${first.name} ${money(first.price)} ${first.currency} ${first.reason}`);
  });
});

describe('an offer of product cards', () => {
  /** The offer editor's fields as a browser sends them, product recommendations chosen. */
  const cardsForm = (site: string, extra: Record<string, string> = {}) => ({
    site, name: 'Picks', slot: 'product-below', segment: '', priority: '0', status: 'active', contentKind: 'recommendations', title: 'Picked for {{traits.firstName|you}}',
    text: '', image: '', link: '', linkText: '', strategy: 'bought-together', limit: '3', startsAt: '', endsAt: '', capCount: '', capDays: '', controlPercent: '50',
    goalEvent: 'Order Completed', goalDays: '7', ...extra,
  });

  it('is created through the console form, and edited as such', async () => {
    const { t, b } = await setup();
    const editor = await html(b, `/console/offers/new?site=${t.site.id}`);
    expect(editor).toContain('<option value="message" selected="">');
    expect(editor).toContain('<option value="recommendations">');
    expect(editor).toMatch(/<input id="limit" name="limit" type="number" value="4" min="1" max="50"/);

    const refused = await b.post('/console/offers', cardsForm(t.site.id, { limit: '80' }));
    expect(refused.status).toBe(400);
    const body = await refused.text();
    expect(textOf(body)).toContain('Not saved: content.limit: must be a whole number from 1 to 50');
    expect(body).toMatch(/<input id="limit" name="limit"[^>]*aria-invalid="true"/);

    // The banner's fields typed before switching kinds stay out of the cards.
    const res = await b.post('/console/offers', cardsForm(t.site.id, { text: 'left over' }));
    expect(res.status).toBe(303);
    const [offer] = await t.store.listOffers(t.site.id);
    expect(offer.content).toEqual({ type: 'recommendations', strategy: 'bought-together', limit: 3, title: 'Picked for {{traits.firstName|you}}' });

    const page = await html(b, `/console/offers/${offer.id}`);
    expect(page).toContain('<option value="recommendations" selected="">');
    expect(page).toContain('<option value="bought-together" selected="">');
    const preview = textOf(page.slice(page.indexOf('id="offer-preview"'), page.indexOf('id="preview-note"')));
    expect(preview).toContain('Picked for Alex');
    expect(preview).toContain('Product cards, filled in for each visitor: up to 3 products (bought-together).');
    expect(textOf(await html(b, `/console/offers?site=${t.site.id}`))).toContain('Product recommendations: bought-together');

    const live = await (await b.json('/console/api/offers/preview', { site: t.site.id, content: { type: 'recommendations', strategy: 'for-you', limit: 2, title: 'Hi {{traits.firstName}}' } })).json();
    expect(live).toEqual({ content: { type: 'recommendations', strategy: 'for-you', limit: 2, title: 'Hi Alex' }, traitsOf: 'sample', problem: null });
    const wrong = await (await b.json('/console/api/offers/preview', { site: t.site.id, content: { type: 'recommendations', strategy: 'random' } })).json();
    expect(wrong.problem).toMatch(/^content\.strategy: must be one of/);

    // Back to a banner: the cards' fields go.
    await b.post(`/console/offers/${offer.id}`, cardsForm(t.site.id, { contentKind: 'message', title: 'Hello', text: 'Ten percent off' }));
    expect((await t.store.listOffers(t.site.id))[0].content).toEqual({ title: 'Hello', text: 'Ten percent off' });
  });

  it('has a report of its cards: clicks, attributed orders, offer against control', async () => {
    const { t, b } = await setup();
    await shop(t);
    await train(t, b);
    await b.post('/console/offers', cardsForm(t.site.id));
    const [offer] = await t.store.listOffers(t.site.id);
    const at = (minutes: number) => new Date(t.clock.now - HOUR + minutes * 60_000).toISOString();
    const props = { offerId: offer.id, slot: 'product-below' };
    const events: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 4; i++) events.push({ type: 'track', anonymousId: `v-${i}`, event: 'Offer Viewed', timestamp: at(i), properties: props });
    for (let i = 0; i < 2; i++) events.push({ type: 'track', anonymousId: `c-${i}`, event: 'Offer Control Exposed', timestamp: at(i), properties: props });
    events.push(
      { type: 'track', anonymousId: 'v-0', event: 'Product Clicked', timestamp: at(10), properties: { ...props, product_id: 'pegs', position: 2, strategy: 'bought-together' } },
      { type: 'track', anonymousId: 'v-0', event: 'Order Completed', timestamp: at(20), properties: { order_id: 'r-1', revenue: 30, products: [{ product_id: 'pegs', price: 10, quantity: 1 }, { product_id: 'tent', price: 20, quantity: 1 }] } },
      { type: 'track', anonymousId: 'c-0', event: 'Order Completed', timestamp: at(20), properties: { order_id: 'r-2', revenue: 20, products: [{ product_id: 'tent', price: 20, quantity: 1 }] } },
    );
    await t.collect(events);
    const report = await recommendationReport(t.store, offer, t.site, t.clock.now);
    expect(report).toMatchObject({ impressions: 4, clicks: 1, attributed: { orders: 1, revenue: 10 } });

    const text = textOf(await html(b, `/console/offers/${offer.id}/report`));
    expect(text).toContain('Product recommendations Bought together with the product of the page');
    expect(text).toContain('Impressions 4 visitors shown the cards');
    expect(text).toContain('Clicks 1');
    expect(text).toContain(`Click-through rate ${pct(report.clickThroughRate)}`);
    expect(text).toContain('Attributed orders 1');
    expect(text).toContain('Attributed revenue 10.00');
    expect(text).toContain('Visitors 4 2');
    expect(text).toContain('Buyers 1 1');
    expect(text).toContain('Revenue 30.00 20.00');
    expect(text).toContain(`Revenue per visitor ${money(report.offer.revenuePerVisitor)} ${money(report.control.revenuePerVisitor)}`);
    expect(text).toContain('Position 2');
    expect(text).toContain('Product pegs pegs 1 1 10.00');

    // An offer of its own content has no such card.
    await b.post('/console/offers', { ...cardsForm(t.site.id), name: 'Banner', slot: 'hero', contentKind: 'message', title: 'Hi' });
    const banner = (await t.store.listOffers(t.site.id)).find((o) => o.name === 'Banner')!;
    expect(textOf(await html(b, `/console/offers/${banner.id}/report`))).not.toContain('Product recommendations');
  });
});
