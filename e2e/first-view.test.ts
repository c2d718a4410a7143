// The first view, in Chromium against a real Rapport: a page whose slot the shop's server decided
// and rendered with @rapport/node (bootstrapped) beside the same page decided in the browser,
// measured for layout shift and for the time the slot was hidden; then the shop's first-party
// proxy, with Rapport's own origin blocked as a blocker's domain list would block it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRapport, rapportProxy, renderSlot, visitorId } from '../packages/node/src/index';
import { startTestServer, type TestServer } from '../packages/server/src/test-support/server';
import { launchChromium } from './support/browser';
import type { StoredEvent } from './support/stored-event';

type RapportWindow = Window & {
  rapport?: { anonymousId(): string; flush(): Promise<void>; ready(cb: () => void): void };
  __firstView?: { shift: number; hiddenMs: number; pendingSince: number | null };
};

let rapport: TestServer;
let shop: Server;
let shopUrl = '';
let browser: Browser;
let site: { id: string; writeKey: string; secret: string };
let offerId = '';
let server: ReturnType<typeof createRapport>;
let proxy: ReturnType<typeof rapportProxy>;
/** Measures of the page: layout shift (CLS sum) and how long any slot was hidden. */
const MEASURE = `<script>
  (function () {
    var m = (window.__firstView = { shift: 0, hiddenMs: 0, pendingSince: null });
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (e) { if (!e.hadRecentInput) m.shift += e.value; });
    }).observe({ type: 'layout-shift', buffered: true });
    new MutationObserver(function (records) {
      records.forEach(function (r) {
        var pending = r.target.hasAttribute('data-rapport-pending');
        if (pending && m.pendingSince === null) m.pendingSince = performance.now();
        if (!pending && m.pendingSince !== null) { m.hiddenMs += performance.now() - m.pendingSince; m.pendingSince = null; }
      });
    }).observe(document.documentElement, { attributes: true, subtree: true, attributeFilter: ['data-rapport-pending'] });
  })();
</script>`;
const DEFAULT_HERO = '<h1>Welcome to Far &amp; Wide</h1>';

const layout = (head: string, slot: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>Home</title><link rel="icon" href="data:,">${MEASURE}${head}
<style>body{font:16px/1.5 sans-serif;margin:0}.rapport-offer__text{margin:0}</style></head>
<body>${slot}<p id="below">The rest of the page, which must not move.</p>
<a id="tour" href="/tour">Tours</a></body></html>`;

beforeAll(async () => {
  rapport = await startTestServer();
  shop = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', shopUrl);
    if (await proxy.node(req, res, '203.0.113.50')) return;
    const sdk = `<script async src="${rapport.url}/sdk.js" data-write-key="${site.writeKey}"></script>`;
    const send = (html: string, headers: Record<string, string> = {}) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(html);
    if (url.pathname === '/ssr') {
      // What a server-rendered shop does: the visitor's id from the SDK's cookie (or a new one,
      // kept with Set-Cookie), the decision, the slot rendered with it.
      const { anonymousId, setCookie } = visitorId(req.headers.cookie, { secure: false });
      const { slots } = await server.decide({ anonymousId, slots: ['home-hero'], context: { page: { url: url.href } } });
      return send(layout(sdk, renderSlot('home-hero', slots['home-hero'], { defaultHtml: DEFAULT_HERO })), setCookie ? { 'set-cookie': setCookie } : {});
    }
    if (url.pathname === '/csr') return send(layout(sdk, `<div data-rapport-slot="home-hero">${DEFAULT_HERO}</div>`));
    if (url.pathname === '/proxied') {
      const first = `<script async src="/rp/sdk.js" data-write-key="${site.writeKey}" data-api-host="/rp"></script>`;
      return send(layout(first, `<div data-rapport-slot="home-hero">${DEFAULT_HERO}</div>`));
    }
    if (url.pathname === '/tour') return send('<!doctype html><title>Tour</title>');
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
  shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
  const created = await rapport.createSite({ name: 'First view shop', origins: [shopUrl] });
  site = { id: created.id, writeKey: created.writeKey, secret: created.secret };
  server = createRapport({ host: rapport.url, writeKey: site.writeKey, secret: site.secret, timeout: 2_000 });
  proxy = rapportProxy({ host: rapport.url, writeKey: site.writeKey, secret: site.secret });
  // Taller than the default, so that a late swap in the browser moves the rest of the page.
  offerId = await rapport.createOffer(site.id, 'home-hero', { title: 'Thailand for families', text: 'Two weeks, all inclusive, from 1,990 EUR. Flights, hotels and guides included.', link: '/tour', linkText: 'See the tour' });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => shop?.close(resolve));
  await rapport?.stop();
});

const events = async (query: string): Promise<StoredEvent[]> =>
  (await rapport.api('GET', `/api/events?site=${site.id}&${query}`)).body.events;

/** Opens a page in a fresh context; returns it with the first-view measures once the SDK is ready. */
const open = async (path: string, setup?: (context: BrowserContext) => Promise<void>) => {
  const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  await setup?.(context);
  const tab = await context.newPage();
  const decides: string[] = [];
  const problems: string[] = [];
  tab.on('request', (r) => r.url().includes('/v1/decide') && decides.push(r.url()));
  tab.on('pageerror', (e) => problems.push(String(e)));
  await tab.goto(shopUrl + path);
  await tab.waitForFunction(() => typeof (window as RapportWindow).rapport?.anonymousId == 'function');
  await tab.evaluate(() => new Promise<void>((resolve) => (window as RapportWindow).rapport!.ready(resolve)));
  // Layout shift entries come after the frame that shifted.
  await tab.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 100))));
  const measures = await tab.evaluate(() => (window as RapportWindow).__firstView!);
  return { tab, context, decides, problems, measures };
};

const flush = (tab: Page) => tab.evaluate(() => (window as RapportWindow).rapport!.flush());

describe('first view', () => {
  it('a bootstrapped slot is neither hidden nor shifted, and its impression and click are still counted', async () => {
    const csr = await open('/csr');
    const ssr = await open('/ssr');
    console.info(
      `first view: bootstrapped hidden ${ssr.measures.hiddenMs.toFixed(1)} ms, layout shift ${ssr.measures.shift.toFixed(4)}; ` +
        `decided in the browser hidden ${csr.measures.hiddenMs.toFixed(1)} ms, layout shift ${csr.measures.shift.toFixed(4)}`,
    );
    // In the browser: the slot waits for /v1/decide, hidden, then the taller offer moves the page.
    expect(csr.decides).toHaveLength(1);
    expect(csr.measures.hiddenMs).toBeGreaterThan(0);
    expect(csr.measures.shift).toBeGreaterThan(0);
    // Bootstrapped: the offer is in the first HTML.
    expect(ssr.decides).toEqual([]);
    expect(ssr.measures.hiddenMs).toBe(0);
    expect(ssr.measures.pendingSince).toBeNull();
    expect(ssr.measures.shift).toBe(0);
    expect(await ssr.tab.textContent('[data-rapport-slot="home-hero"]')).toContain('Thailand for families');

    // The browser kept the id the server gave the visitor, so the server's decision and the
    // browser's events name one person.
    const cookie = (await ssr.context.cookies()).find((c) => c.name === 'rapport_id');
    const anonymousId = await ssr.tab.evaluate(() => (window as RapportWindow).rapport!.anonymousId());
    expect(cookie?.value).toBe(anonymousId);

    await ssr.tab.click('.rapport-offer__link');
    await ssr.tab.waitForURL('**/tour');
    await vi.waitFor(async () => {
      const tracked = (await events(`anonymousId=${anonymousId}&type=track`)).map((e) => [e.event, e.properties?.offerId]);
      expect(tracked).toEqual(expect.arrayContaining([['Offer Viewed', offerId], ['Offer Clicked', offerId]]));
    }, { timeout: 15_000, interval: 200 });
    expect([...ssr.problems, ...csr.problems]).toEqual([]);
    await ssr.context.close();
    await csr.context.close();
  });

  it("the first-party proxy carries every event and decision while Rapport's own origin is blocked", async () => {
    const blocked: string[] = [];
    const proxied = await open('/proxied', (context) =>
      context.route(`${rapport.url}/**`, (route) => {
        blocked.push(route.request().url());
        return route.abort('blockedbyclient');
      }),
    );
    expect(proxied.decides.every((url) => url.startsWith(`${shopUrl}/rp/v1/decide`))).toBe(true);
    expect(proxied.decides).toHaveLength(1);
    expect(await proxied.tab.textContent('[data-rapport-slot="home-hero"]')).toContain('Thailand for families');
    const anonymousId = await proxied.tab.evaluate(() => (window as RapportWindow).rapport!.anonymousId());
    await proxied.tab.evaluate(() => (window as unknown as { rapport: { track(e: string): void } }).rapport.track('Proxied Event'));
    await flush(proxied.tab);
    await vi.waitFor(async () => {
      const stored = await events(`anonymousId=${anonymousId}`);
      expect(stored.map((e) => e.type)).toContain('page');
      expect(stored.map((e) => e.event)).toContain('Proxied Event');
      // Rapport saw the visitor's address, which the proxy signed, not the shop server's.
      expect(stored.every((e) => e.enrichment.ip === '203.0.113.0')).toBe(true);
    }, { timeout: 15_000, interval: 200 });
    expect(blocked).toEqual([]);
    expect(proxied.problems).toEqual([]);
    await proxied.context.close();
  });
});
