// Recommendations in Chromium against a real Rapport: shoppers who buy a tent buy its pegs; a
// visitor who viewed the tent gets the pegs as a product card in a slot (the cards module loaded
// because the slot needs it), clicks it, orders the pegs, and the offer's report shows the click
// and the attributed order.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../packages/server/src/test-support/server';
import { launchChromium } from './support/browser';

type RapportWindow = Window & {
  rapport?: { anonymousId(): string; flush(): Promise<void>; ready(cb: () => void): void; track(event: string, properties?: object): void };
};

let rapport: TestServer;
let shop: Server;
let shopUrl = '';
let browser: Browser;
let site: { id: string; writeKey: string };
let offerId = '';

/** The shop's products as its events describe them (links on the shop's origin, known once it listens). */
let PRODUCTS: Record<'tent' | 'pegs' | 'lamp', Record<string, string | number>>;
const productsOf = (origin: string) => ({
  tent: { product_id: 'tent-2p', name: 'Tent for two', price: 149, currency: 'EUR', category: 'tents', url: `${origin}/p/tent-2p`, image_url: 'https://cdn.shop.example/tent.jpg' },
  pegs: { product_id: 'pegs-10', name: 'Ten tent pegs', price: 9.5, currency: 'EUR', category: 'accessories', url: `${origin}/p/pegs-10`, image_url: 'https://cdn.shop.example/pegs.jpg' },
  lamp: { product_id: 'lamp', name: 'Camping lamp', price: 25, currency: 'EUR', category: 'accessories', url: `${origin}/p/lamp`, image_url: 'https://cdn.shop.example/lamp.jpg' },
});

beforeAll(async () => {
  rapport = await startTestServer();
  shop = createServer((req, res) => {
    const sdk = `<script async src="${rapport.url}/sdk.js" data-write-key="${site.writeKey}"></script>`;
    if (req.url?.startsWith('/p/')) {
      return res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(`<!doctype html><html><head><meta charset="utf-8"><title>Product</title><link rel="icon" href="data:,">${sdk}</head>
<body><h1>Product</h1><div data-rapport-slot="goes-with"><p id="default">Our bestsellers</p></div></body></html>`);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
  shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
  PRODUCTS = productsOf(shopUrl);
  const created = await rapport.createSite({ name: 'Outdoor shop', origins: [shopUrl] });
  site = { id: created.id, writeKey: created.writeKey };

  // What the shop's customers did before: every tent order had its pegs; a few had a lamp.
  const at = (minutes: number) => new Date(Date.now() - 86_400_000 + minutes * 60_000).toISOString();
  const batch = [];
  for (let i = 0; i < 12; i++) {
    const a = `earlier-${i}`;
    batch.push({ type: 'track', anonymousId: a, event: 'Product Viewed', properties: PRODUCTS.tent, context: { sessionId: `s-${i}` }, timestamp: at(i) });
    const lines = i % 4 === 0 ? [PRODUCTS.tent, PRODUCTS.pegs, PRODUCTS.lamp] : [PRODUCTS.tent, PRODUCTS.pegs];
    batch.push({ type: 'track', anonymousId: a, event: 'Order Completed', properties: { order_id: `o-${i}`, products: lines.map((p) => ({ ...p, quantity: 1 })) }, timestamp: at(i + 1) });
  }
  const sent = await rapport.send('/v1/batch', { batch }, { headers: { authorization: `Basic ${Buffer.from(`${site.writeKey}:`).toString('base64')}` } });
  expect(sent.status).toBe(200);
  const trained = await rapport.api('POST', `/api/recommendations/train?site=${site.id}`);
  expect(trained.status).toBe(200);
  const offer = await rapport.api('POST', '/api/offers', {
    site: site.id,
    name: 'Goes well with it',
    slot: 'goes-with',
    content: { type: 'recommendations', strategy: 'bought-together', limit: 2, title: 'Goes well with it' },
  });
  expect(offer.status).toBe(201);
  offerId = offer.body.id;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => shop?.close(resolve));
  await rapport?.stop();
});

const flush = (tab: Page) => tab.evaluate(() => (window as RapportWindow).rapport!.flush());

describe('recommendations in a slot', () => {
  it('shows a visitor who viewed the tent its pegs; the click and the order of the pegs appear in the report', async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    const problems: string[] = [];
    const scripts: string[] = [];
    tab.on('pageerror', (e) => problems.push(String(e)));
    tab.on('request', (r) => r.resourceType() === 'script' && scripts.push(new URL(r.url()).pathname));

    // The tent's page: the visitor views it (the slot has nothing to start from yet: the default stays).
    await tab.goto(`${shopUrl}/p/tent-2p`);
    await tab.waitForFunction(() => typeof (window as RapportWindow).rapport?.track == 'function');
    await tab.evaluate((tent) => (window as RapportWindow).rapport!.track('Product Viewed', tent), PRODUCTS.tent);
    await flush(tab);

    // The next page: the slot shows what goes with what the visitor viewed last.
    await tab.goto(`${shopUrl}/p/other`);
    const card = tab.locator('[data-rapport-slot="goes-with"] .rapport-card').first();
    await card.waitFor();
    expect(await card.getAttribute('data-rapport-product')).toBe('pegs-10');
    expect(await card.getAttribute('data-rapport-position')).toBe('1');
    expect(await tab.textContent('[data-rapport-slot="goes-with"]')).toContain('Ten tent pegs');
    expect(await tab.locator('#default').count()).toBe(0);
    // The cards' code came as a module of its own, for this slot.
    expect(scripts).toContain('/sdk-cards.js');

    await card.click();
    await tab.waitForURL('**/p/pegs-10');
    await tab.waitForFunction(() => typeof (window as RapportWindow).rapport?.track == 'function');
    await tab.evaluate(
      (pegs) => (window as RapportWindow).rapport!.track('Order Completed', { order_id: 'o-visitor', revenue: 9.5, products: [{ ...pegs, quantity: 1 }] }),
      PRODUCTS.pegs,
    );
    await flush(tab);
    expect(problems).toEqual([]);

    await vi.waitFor(
      async () => {
        const report = await rapport.api('GET', `/api/offers/${offerId}/report`);
        expect(report.body.recommendations).toMatchObject({
          impressions: 1,
          clicks: 1,
          byPosition: [{ position: 1, clicks: 1 }],
          attributed: { orders: 1, revenue: 9.5 },
        });
        expect(report.body.recommendations.products[0]).toMatchObject({ productId: 'pegs-10', clicks: 1, attributedOrders: 1 });
        // One visitor; the pegs' page showed the slot again (what goes with the pegs).
        expect(report.body.offer).toMatchObject({ exposures: 1, impressions: 2, clicks: 1 });
      },
      { timeout: 10_000, interval: 200 },
    );
    await context.close();
  });
});
