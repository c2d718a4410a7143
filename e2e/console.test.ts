// The marketer console in real Chromium against the real server: log in, find a customer, build
// a segment and see its count before saving, create an offer and see it decided, read its report,
// and prove that what visitors typed (script tags, event handlers, javascript: URLs) is shown as
// text on every page, with no script run. Every page is photographed under screenshots/console/.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../packages/server/src/test-support/server';
import { launchChromium } from './support/browser';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHOTS = path.join(ROOT, 'screenshots', 'console');
// `RAPPORT_DOCS_SCREENSHOTS=1` also refreshes the three pictures of the README.
const DOCS = process.env.RAPPORT_DOCS_SCREENSHOTS ? path.join(ROOT, 'docs', 'screenshots') : null;

const DAY = 86_400_000;
const SHOP = 'https://shop.example';
const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const UA_PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

/** What visitors may type: each must show as text and never run. */
const XSS = {
  name: '<script>window.__xss=1</script>',
  attribute: '"><img src=x onerror="window.__xss=1">',
  svg: '<svg onload=window.__xss=1>',
  alert: '<img src=x onerror=alert(document.domain)>',
  url: 'javascript:window.__xss=1',
  title: '</title><script>window.__xss=1</script>',
  keyword: '<script>alert(1)</script>',
  campaign: '<iframe src=javascript:alert(1)>',
  event: '<b onmouseover=alert(1)>Hover</b>',
};

let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let tab: Page;
const dialogs: string[] = [];
const problems: string[] = [];
let n = 0;
const mid = () => `console-e2e-${++n}`;

/** A small pseudo-random generator, so that every run seeds the same shop. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const at = (daysAgo: number, minutes = 0) => new Date(Date.now() - daysAgo * DAY + minutes * 60_000).toISOString();
const pageView = (anonymousId: string, when: string, pagePath: string, referrer = '', title = 'Summer Travel', ua = UA) => ({
  type: 'page',
  messageId: mid(),
  anonymousId,
  timestamp: when,
  context: { page: { url: `${SHOP}${pagePath}`, path: pagePath.split('?')[0], referrer, title }, userAgent: ua },
});
const track = (anonymousId: string, event: string, when: string, properties: Record<string, unknown> = {}, userId?: string) => ({
  type: 'track',
  messageId: mid(),
  anonymousId,
  ...(userId ? { userId } : {}),
  event,
  timestamp: when,
  properties,
});
const identify = (anonymousId: string, userId: string, when: string, traits: Record<string, unknown>) => ({
  type: 'identify',
  messageId: mid(),
  anonymousId,
  userId,
  timestamp: when,
  traits,
});

async function send(batch: unknown[]) {
  for (let i = 0; i < batch.length; i += 100) {
    const res = await server.send('/v1/batch', { batch: batch.slice(i, i + 100) });
    expect(res.status).toBe(200);
  }
}

const SOURCES = [
  { referrer: 'https://www.google.com/search?q=thailand+beach+holiday', query: '' },
  { referrer: 'https://www.google.com/search?q=family+hotel+crete', query: '' },
  { referrer: 'https://www.google.com/search?q=cheap+flights+bangkok', query: '' },
  { referrer: 'https://www.bing.com/search?q=thailand+island+hopping', query: '' },
  { referrer: 'https://www.facebook.com/', query: '' },
  { referrer: '', query: '?utm_source=newsletter&utm_medium=email&utm_campaign=summer-sale' },
  { referrer: '', query: '' },
  { referrer: 'https://www.instagram.com/', query: '' },
];
const PAGES = ['/', '/trips/thailand', '/trips/crete', '/hotels', '/deals', '/trips/bali'];
const FIRST = ['Mia', 'Noah', 'Emma', 'Liam', 'Sofia', 'Lucas', 'Olivia', 'Elias', 'Lea', 'Jonas', 'Clara', 'Ben'];
const LAST = ['Schmidt', 'Dubois', 'Rossi', 'Novak', 'Berg', 'Costa', 'Martin', 'Weber', 'Moreau', 'Jansen', 'Silva', 'Keller'];
const CITIES = ['Lyon', 'Munich', 'Vienna', 'Porto', 'Ghent', 'Turin'];

/** A shop's last month: visitors from search, social, a newsletter; logins; orders. */
async function seedShop() {
  const rnd = random(42);
  const pick = <T,>(list: T[]) => list[Math.floor(rnd() * list.length)];
  const batch: unknown[] = [];
  for (let v = 1; v <= 36; v++) {
    const anon = `anon-${v}`;
    const visits = 1 + Math.floor(rnd() * 3);
    let day = 1 + Math.floor(rnd() * 28);
    for (let visit = 0; visit < visits && day >= 0; visit++) {
      const source = pick(SOURCES);
      const ua = rnd() < 0.35 ? UA_PHONE : UA;
      const landing = pick(PAGES);
      batch.push(pageView(anon, at(day, 0), `${landing}${source.query}`, source.referrer, 'Summer Travel', ua));
      batch.push(pageView(anon, at(day, 2), pick(PAGES), `${SHOP}${landing}`, 'Summer Travel', ua));
      batch.push(track(anon, 'Product Viewed', at(day, 3), { product: pick(['Thailand 14 days', 'Crete family week', 'Bali retreat']) }));
      day -= 1 + Math.floor(rnd() * 6);
    }
    if (v <= 14) {
      const first = FIRST[v % FIRST.length];
      const last = LAST[(v * 7) % LAST.length];
      batch.push(identify(anon, `u-${v}`, at(Math.max(day, 0), 5), { firstName: first, lastName: last, email: `${first}.${last}@example.com`.toLowerCase(), city: pick(CITIES) }));
      if (v <= 9) {
        const orders = 1 + Math.floor(rnd() * 2);
        for (let o = 0; o < orders; o++) {
          batch.push(track(anon, 'Order Completed', at(Math.max(day, 0), 10 + o), { orderId: `o-${v}-${o}`, revenue: Math.round(200 + rnd() * 1800) }, `u-${v}`));
        }
      }
    }
  }
  // Regulars: first seen one to three months ago, back this month.
  for (let v = 1; v <= 10; v++) {
    const anon = `regular-${v}`;
    const source = pick(SOURCES);
    batch.push(pageView(anon, at(35 + v * 4), `/trips/crete${source.query}`, source.referrer));
    batch.push(pageView(anon, at(1 + v * 2), '/', 'https://www.google.com/search?q=family+hotel+crete'));
    batch.push(track(anon, 'Product Viewed', at(1 + v * 2, 2), { product: 'Crete family week' }));
  }
  // Ann: found through a search for Thailand on her laptop, back from the newsletter on her
  // phone, logged in on both (two profiles merged into one), two orders.
  batch.push(pageView('anon-ann-laptop', at(20), '/trips/thailand', 'https://www.google.com/search?q=thailand+beach+holiday', 'Thailand: beaches and islands'));
  batch.push(pageView('anon-ann-laptop', at(20, 4), '/hotels', `${SHOP}/trips/thailand`, 'Hotels'));
  batch.push(identify('anon-ann-laptop', 'u-ann', at(20, 6), { firstName: 'Ann', lastName: 'Lee', email: 'ann.lee@example.com', city: 'Lyon', plan: 'gold' }));
  batch.push(track('anon-ann-laptop', 'Order Completed', at(20, 9), { orderId: 'o-ann-1', revenue: 1250 }, 'u-ann'));
  batch.push(pageView('anon-ann-phone', at(5), '/deals?utm_source=newsletter&utm_medium=email&utm_campaign=summer-sale', '', 'Summer deals', UA_PHONE));
  batch.push(track('anon-ann-phone', 'Product Viewed', at(5, 1), { product: 'Thailand 14 days' }));
  batch.push(identify('anon-ann-phone', 'u-ann', at(5, 2), { firstName: 'Ann', phone: '+33 6 12 34 56 78' }));
  batch.push(track('anon-ann-phone', 'Order Completed', at(5, 8), { orderId: 'o-ann-2', revenue: 890 }, 'u-ann'));
  await send(batch);
}

/** A visitor who typed markup and script URLs everywhere a visitor can type. */
async function seedAttacker() {
  const anon = 'anon-xss';
  await send([
    pageView(anon, at(2), `/search?utm_source=ads&utm_medium=cpc&utm_campaign=${encodeURIComponent(XSS.campaign)}&utm_term=x`, `https://www.google.com/search?q=${encodeURIComponent(XSS.keyword)}`, XSS.title),
    {
      type: 'page',
      messageId: mid(),
      anonymousId: anon,
      timestamp: at(2, 1),
      context: { page: { url: XSS.url, path: '/x', referrer: XSS.url, title: XSS.svg }, userAgent: UA },
    },
    identify(anon, XSS.alert, at(2, 2), { name: XSS.name, city: XSS.attribute, firstName: XSS.svg, website: XSS.url }),
    track(anon, XSS.event, at(2, 3), { note: XSS.name, link: XSS.url, html: XSS.attribute }, XSS.alert),
  ]);
}

/** Offer and control exposures with orders after them, for the report of `offerId`. */
async function seedExposures(offerId: string) {
  const batch: unknown[] = [];
  for (let i = 0; i < 60; i++) {
    const anon = `exposed-${i}`;
    const control = i % 3 === 2;
    const day = 7 - (i % 7);
    const event = control ? 'Offer Control Exposed' : 'Offer Viewed';
    batch.push(pageView(anon, at(day), '/', 'https://www.google.com/search?q=thailand+last+minute'));
    batch.push(track(anon, event, at(day, 1), { offerId, slot: 'home-hero', variant: control ? 'control' : 'offer' }));
    if (!control && i % 5 === 0) batch.push(track(anon, 'Offer Clicked', at(day, 2), { offerId, slot: 'home-hero', variant: 'offer' }));
    const converts = control ? i % 10 === 2 : i % 9 < 4;
    if (converts) batch.push(track(anon, 'Order Completed', at(day, 30), { orderId: `x-${i}`, revenue: 400 }));
  }
  await send(batch);
}

async function shoot(name: string, options: { docs?: string } = {}) {
  await tab.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  if (DOCS && options.docs) await tab.screenshot({ path: path.join(DOCS, `${options.docs}.png`) });
}

/** No dialog opened, no script of a payload ran, and no CSP violation or script error so far. */
async function expectNoScriptRan() {
  expect(dialogs).toEqual([]);
  expect(await tab.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
  expect(problems).toEqual([]);
}

const bodyText = () => tab.evaluate(() => document.body.innerText);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  if (DOCS) mkdirSync(DOCS, { recursive: true });
  server = await startTestServer();
  expect((await server.api('PATCH', `/api/sites/${server.site.id}`, { name: 'Summer Travel' })).status).toBe(200);
  await seedShop();
  await seedAttacker();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  tab = await context.newPage();
  tab.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  tab.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  tab.on('console', (message) => {
    // Refusals the test provokes on purpose (a wrong token, an invalid rule) are logged as failed
    // loads; anything else (a CSP violation, a script error, a missing file) is a problem.
    if (message.type() === 'error' && !/Failed to load resource: .* status of 40[01]/.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the marketer console in Chromium', () => {
  it('asks for the admin token, then shows the overview', async () => {
    await tab.goto(`${server.url}/console`);
    expect(new URL(tab.url()).pathname).toBe('/console/login');
    await tab.fill('#token', 'not the token');
    await Promise.all([tab.waitForLoadState(), tab.click('button[type=submit]')]);
    expect(await bodyText()).toContain('That is not the admin token.');
    await shoot('01-login');
    await tab.fill('#token', server.adminToken);
    await Promise.all([tab.waitForURL(`${server.url}/console`), tab.click('button[type=submit]')]);
    await expect.poll(() => tab.locator('h1').textContent()).toBe('Summer Travel');
    const text = await bodyText();
    expect(text).toContain('Identified customers');
    expect(text).toContain('thailand beach holiday');
    expect(await tab.locator('svg[role=img] title').count()).toBeGreaterThan(3);
    await shoot('02-overview', { docs: 'console-overview' });
    await expectNoScriptRan();
  });

  it('finds a customer by user id and opens the 360-degree page', async () => {
    await tab.click('nav >> text=Customers');
    await tab.fill('#q', 'u-ann');
    await Promise.all([tab.waitForURL(/q=u-ann/), tab.press('#q', 'Enter')]);
    await shoot('03-customers-search');
    await Promise.all([tab.waitForURL(/\/console\/customers\/[^/?]+$/), tab.click('table.customers a >> text=Ann Lee')]);
    expect(await tab.locator('h1').textContent()).toBe('Ann Lee');
    const text = await bodyText();
    for (const expected of ['anon-ann-laptop', 'anon-ann-phone', 'u-ann', 'gold', 'thailand beach holiday', 'Google', 'newsletter', 'Logged in: an anonymous visitor joined the customer', 'Order Completed', '2,140.00']) {
      expect(text).toContain(expected);
    }
    await shoot('04-customer-360', { docs: 'console-customer' });
    // The erasure asks first.
    await tab.click('text=Erase…');
    expect(await tab.locator('h1').textContent()).toBe('Erase Ann Lee?');
    await shoot('05-customer-erase-confirm');
    await tab.click('text=Cancel');
    expect(await tab.locator('h1').textContent()).toBe('Ann Lee');
    await expectNoScriptRan();
  });

  let segmentId = '';
  it('builds a segment and shows how many customers match before saving', async () => {
    await tab.goto(`${server.url}/console/segments/new?site=${server.site.id}`);
    await tab.fill('#name', 'Thailand buyers');
    await tab.fill('#description', 'Came from a search for Thailand and bought');
    // The first row (orders at least 1) is there; add the keyword condition.
    await tab.click('.rb-add >> text=+ Condition');
    const row = tab.locator('.rb-row').nth(1);
    await row.locator('select.rb-field').selectOption('referrer.first.term');
    await row.locator('select.rb-op').selectOption('contains');
    await row.locator('input.rb-value').fill('thailand');
    // What the two rows say, as the API counts it.
    const rule = { all: [{ field: 'computed.orders', op: 'gte', value: 1 }, { field: 'referrer.first.term', op: 'contains', value: 'thailand' }] };
    const expected = await server.api('POST', '/api/segments/preview', { site: server.site.id, rule });
    expect(expected.body.count).toBeGreaterThan(0);
    const liveCount = `${expected.body.count} ${expected.body.count === 1 ? 'customer matches' : 'customers match'} now`;
    await expect.poll(() => tab.locator('#live-count').textContent()).toBe(liveCount);
    // A nested group: any of two cities.
    await tab.click('.rb-add >> text=+ Group');
    const nested = tab.locator('.rb-group .rb-group');
    await nested.locator('select.rb-field').selectOption('@trait');
    await nested.locator('input.rb-trait').fill('city');
    await nested.locator('select.rb-op').selectOption('in');
    await nested.locator('input.rb-value').fill('Lyon, Munich');
    await expect.poll(() => tab.locator('#rule').inputValue()).toContain('"Lyon"');
    // An event count with a window.
    await tab.locator('.rb-add').last().locator('text=+ Event count').click();
    const events = tab.locator('.rb-group > .rb-children > .rb-row').last();
    await events.locator('input.rb-event').fill('Order Completed');
    await events.locator('select.rb-op').selectOption('gte');
    await events.locator('input.rb-count').fill('1');
    await events.locator('input.rb-days').fill('90');
    await expect.poll(async () => JSON.parse(await tab.locator('#rule').inputValue()).all[3]).toEqual({ event: 'Order Completed', op: 'gte', value: 1, withinDays: 90 });
    await expect.poll(() => tab.locator('#live-count:not(.stale)').textContent()).toMatch(/^\d+ customers? match(es)? now$/);
    await shoot('06-segment-builder', { docs: 'console-segment-builder' });

    // The JSON view, with the API's validation messages.
    await tab.click('#rule-toggle');
    await tab.fill('#rule', '{"all": [{"field": "computed.orders", "op": "bigger", "value": 1}]}');
    await expect.poll(() => tab.locator('#rule-problems').textContent()).toContain('rule.all[0].op: unknown operator "bigger"');
    await shoot('07-segment-json-error');
    await tab.fill('#rule', JSON.stringify(rule));
    await expect.poll(() => tab.locator('#live-count').textContent()).toBe(liveCount);
    await tab.click('#rule-toggle');
    expect(await tab.locator('.rb-row').count()).toBe(2);

    await Promise.all([tab.waitForURL(/\/console\/segments\?/), tab.click('button >> text=Save segment')]);
    expect(await bodyText()).toContain('The segment is saved.');
    const segments = await server.api('GET', `/api/segments?site=${server.site.id}&counts=true`);
    const saved = segments.body.segments.find((s: { name: string }) => s.name === 'Thailand buyers');
    expect(saved.count).toBe(expected.body.count);
    segmentId = saved.id;
    expect(await tab.locator(`a[href*="segment=${segmentId}"]`).textContent()).toBe(String(expected.body.count));
    await shoot('08-segments');
    await expectNoScriptRan();
  });

  let offerId = '';
  it('creates an offer with a live preview, and the offer is decided for a matching visitor', async () => {
    await tab.goto(`${server.url}/console/offers/new?site=${server.site.id}`);
    await tab.fill('#name', 'Thailand summer deal');
    await tab.fill('#slot', 'home-hero');
    await tab.selectOption('#segment', segmentId);
    await tab.fill('#priority', '10');
    await tab.fill('#title', 'Welcome back, {{traits.firstName|traveller}}!');
    await expect.poll(() => tab.locator('.rapport-offer__title').textContent()).toBe('Welcome back, Alex!');
    await tab.fill('#text', 'Two weeks of islands and beaches, 15% off until Sunday.');
    await tab.fill('#link', '/trips/thailand?promo=summer');
    await tab.fill('#linkText', 'See the trip');
    await tab.fill('#preview-customer', 'u-ann');
    await expect.poll(() => tab.locator('.rapport-offer__title').textContent()).toBe('Welcome back, Ann!');
    expect(await tab.locator('.rapport-offer__link').getAttribute('href')).toBe('/trips/thailand?promo=summer');
    // A javascript: link is refused in the preview, as the SDK refuses it.
    await tab.fill('#link', 'javascript:alert(1)');
    await expect.poll(() => tab.locator('#preview-note').textContent()).toContain('content.link: must be an http(s) URL');
    expect(await tab.locator('.rapport-offer__link').count()).toBe(0);
    await tab.fill('#link', '/trips/thailand?promo=summer');
    await expect.poll(() => tab.locator('.rapport-offer__link').count()).toBe(1);
    await tab.fill('#controlPercent', '0');
    await tab.fill('#goalEvent', 'Order Completed');
    await tab.fill('#goalDays', '7');
    await tab.fill('#capCount', '3');
    await tab.fill('#capDays', '7');
    await shoot('09-offer-editor');
    await Promise.all([tab.waitForURL(/\/console\/offers\?/), tab.click('button >> text=Save offer')]);
    expect(await bodyText()).toContain('Thailand summer deal');
    await shoot('10-offers');

    const offers = await server.api('GET', `/api/offers?site=${server.site.id}`);
    offerId = offers.body.offers.find((o: { name: string }) => o.name === 'Thailand summer deal').id;
    const decide = (userId: string, anonymousId: string) =>
      server.send('/v1/decide', { anonymousId, userId, slots: ['home-hero'], context: { page: { url: `${SHOP}/`, path: '/' } } }).then((r: Response) => r.json());
    const ann = await decide('u-ann', 'anon-ann-phone');
    expect(ann.slots['home-hero']).toMatchObject({ offerId, variant: 'offer', content: { title: 'Welcome back, Ann!', link: '/trips/thailand?promo=summer' } });
    // Someone outside the segment keeps the default.
    const stranger = await server.send('/v1/decide', { anonymousId: 'nobody-knows-me', slots: ['home-hero'] }).then((r: Response) => r.json());
    expect(stranger.slots['home-hero']).toBeNull();

    // Pause: the slot falls back to its default; resume: the offer is back.
    await tab.click(`form[action="/console/offers/${offerId}/status"] button >> text=Pause`);
    await tab.waitForURL(/done=paused/);
    expect(await tab.locator('.badge >> text=Paused').count()).toBe(1);
    expect((await decide('u-ann', 'anon-ann-phone')).slots['home-hero']).toBeNull();
    await tab.click(`form[action="/console/offers/${offerId}/status"] button >> text=Resume`);
    await tab.waitForURL(/done=active/);
    expect((await decide('u-ann', 'anon-ann-phone')).slots['home-hero']).toMatchObject({ offerId });
    await expectNoScriptRan();
  });

  it("opens the offer's report: offer against control, uplift and significance in words, days", async () => {
    // From now on, one visitor in three is kept on the default content to measure the offer.
    await tab.click(`a >> text=Thailand summer deal`);
    await tab.fill('#controlPercent', '30');
    await Promise.all([tab.waitForURL(/\/console\/offers\?/), tab.click('button >> text=Save changes')]);
    expect((await server.api('GET', `/api/offers/${offerId}`)).body).toMatchObject({ controlPercent: 30, priority: 10, cap: { count: 3, days: 7 } });
    await seedExposures(offerId);
    await tab.click(`a[href="/console/offers/${offerId}/report"]`);
    await tab.waitForURL(`${server.url}/console/offers/${offerId}/report`);
    const report = (await server.api('GET', `/api/offers/${offerId}/report`)).body;
    expect(report.significance.significant).toBe(true);
    const text = await bodyText();
    expect(text).toContain('95% confident the offer converts better than the default content.');
    expect(text).toContain(String(report.offer.exposures));
    expect(text).toContain(String(report.control.exposures));
    expect(await tab.locator('svg.daily').count()).toBe(2);
    await shoot('11-offer-report');
    await expectNoScriptRan();
  });

  it('opens the attribution report: a chart, the figures in a table under it, sortable, first and last touch side by side', async () => {
    await tab.click('nav a >> text=Reports');
    await tab.waitForURL(/\/console\/reports\/attribution/);
    await tab.click('a >> text=Search keyword');
    await tab.waitForURL(/by=term/);
    const text = await bodyText();
    expect(text).toContain('First touch');
    expect(text).toContain('Last touch');
    expect(text).toContain('thailand beach holiday');
    // The chart is drawn with a title for screen readers, and its numbers are in the table below.
    expect(await tab.locator('table.bar-list svg[role=img] title').count()).toBeGreaterThan(0);
    const rows = await tab.locator('table.report-table tbody tr').count();
    expect(rows).toBeGreaterThan(1);
    const api = (await server.api('GET', `/api/reports/attribution?site=${server.site.id}&by=term&touch=first`)).body;
    expect(rows).toBe(new Set([...api.rows.map((r: { key: string }) => r.key), ...(await server.api('GET', `/api/reports/attribution?site=${server.site.id}&by=term&touch=last`)).body.rows.map((r: { key: string }) => r.key)]).size);
    // Sorting by last-touch visitors, ascending on a second click.
    await Promise.all([tab.waitForURL(/sort=last.visitors/), tab.click('thead a >> text=Visitors >> nth=1')]);
    expect(await tab.locator('thead a[aria-sort=descending]').count()).toBe(1);
    await Promise.all([tab.waitForURL(/dir=asc/), tab.click('thead a[aria-sort=descending]')]);
    expect(await tab.locator('thead a[aria-sort=ascending]').count()).toBe(1);
    const download = await Promise.all([tab.waitForEvent('download'), tab.click('a >> text=Download CSV')]);
    expect(download[0].suggestedFilename()).toBe('attribution-term.csv');
    await shoot('12-attribution');
    // The overview over 7 days, from the range picker.
    await tab.goto(`${server.url}/console?site=${server.site.id}`);
    await Promise.all([tab.waitForURL(/days=7/), tab.click('.range-presets a >> text=7 days')]);
    expect(await tab.locator('.range-presets a[aria-current=true]').textContent()).toBe('7 days');
    await expectNoScriptRan();
  });

  it('opens the funnel and the retention reports: each chart drawn, the figures in a table under it', async () => {
    const site = server.site.id;
    /** The chart's box and the table's: drawn (not empty) and the table below the chart. */
    const below = async (chart: string, table: string) => {
      const c = await tab.locator(chart).first().boundingBox();
      const t = await tab.locator(table).first().boundingBox();
      expect(c && c.width > 0 && c.height > 0).toBe(true);
      expect(t!.y).toBeGreaterThanOrEqual(c!.y + c!.height);
    };

    await tab.goto(`${server.url}/console/reports/attribution?site=${site}`);
    await Promise.all([tab.waitForURL(/\/console\/reports\/funnel/), tab.click('a >> text=Funnels')]);
    // The shop's standard steps are filled in; two of them are enough here.
    const field = (name: string) => `form.funnel-form input[name=${name}]`;
    await tab.fill(field('step1'), 'Product Viewed');
    await tab.fill(field('step2'), 'Order Completed');
    for (const n of [3, 4]) await tab.fill(field(`step${n}`), '');
    await Promise.all([tab.waitForURL(/step2=Order/), tab.click('form.funnel-form button[type=submit]')]);
    expect(await tab.locator('svg.bar[role=img]').count()).toBe(2);
    await below('svg.bar', 'table.report-table');
    const [within, from, to] = await Promise.all(['within', 'from', 'to'].map((name) => tab.inputValue(field(name))));
    const steps = [{ event: 'Product Viewed' }, { event: 'Order Completed' }];
    const funnel = (await server.api('POST', '/api/reports/funnel', { site, steps, withinDays: Number(within), from, to })).body;
    expect(funnel.steps[0].people).toBeGreaterThan(0);
    const cells = await tab.locator('table.report-table tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).innerText.split('\t')[1]?.trim()));
    expect(cells).toEqual(funnel.steps.map((x: { people: number }) => x.people.toLocaleString('en-US')));
    await shoot('13-funnel');

    await Promise.all([tab.waitForURL(/\/console\/reports\/retention/), tab.click('a >> text=Retention')]);
    await below('svg.daily[role=img]', 'table.report-table');
    const retention = (await server.api('GET', `/api/reports/retention?site=${site}`)).body;
    const people = retention.cohorts.reduce((n: number, c: { people: number }) => n + c.people, 0);
    expect(people).toBeGreaterThan(0);
    expect(await tab.locator('table.report-table tbody tr').count()).toBe(retention.cohorts.length);
    await shoot('14-retention');
    await expectNoScriptRan();
  });

  it('shows the script tag, reveals the secret on demand, and rotates it after a confirmation', async () => {
    await tab.click('nav >> text=Sites');
    await tab.click(`a.strong >> text=Summer Travel`);
    const tag = await tab.locator('#script-tag').textContent();
    expect(tag).toBe(`<script async src="${server.url}/sdk.js" data-write-key="${server.site.writeKey}"></script>`);
    expect(await bodyText()).not.toContain(server.site.secret);
    await shoot('12-site');
    await tab.click('button >> text=Reveal the secret');
    expect(await tab.locator('#site-secret').textContent()).toBe(server.site.secret);
    await tab.click('text=Rotate the secret…');
    await shoot('13-site-rotate-confirm');
    await tab.click('button >> text=Rotate the secret');
    const rotated = (await tab.locator('#site-secret').textContent())!;
    expect(rotated).not.toBe(server.site.secret);
    expect((await server.api('GET', `/api/sites/${server.site.id}`)).body.secret).toBe(rotated);
    await expectNoScriptRan();
  });

  it('shows what visitors typed as text on every page, and runs none of it', async () => {
    const found = await server.api('GET', `/api/profiles?site=${server.site.id}&anonymousId=anon-xss`);
    const attacker = found.body.profiles[0].id as string;
    const site = server.site.id;
    const pages: Array<[string, string, string[]]> = [
      ['overview', `/console?site=${site}`, [XSS.keyword]],
      ['customers', `/console/customers?site=${site}&q=anon-xss`, [XSS.name, XSS.alert]],
      ['customers-search', `/console/customers?site=${site}&q=${encodeURIComponent(XSS.name)}`, [XSS.name]],
      ['customer', `/console/customers/${attacker}`, [XSS.name, XSS.attribute, XSS.svg, XSS.alert, XSS.url, XSS.title, XSS.keyword, XSS.campaign, XSS.event]],
      ['customer-events', `/console/customers/${attacker}`, [XSS.event]],
      ['customer-erase', `/console/customers/${attacker}/erase`, [XSS.name]],
      ['segments', `/console/segments?site=${site}`, ['Thailand buyers']],
      ['segment', `/console/segments/${segmentId}`, ['Thailand buyers']],
      ['offers', `/console/offers?site=${site}`, ['Thailand summer deal']],
      ['offer', `/console/offers/${offerId}`, ['Thailand summer deal']],
      ['report', `/console/offers/${offerId}/report`, ['Thailand summer deal']],
      ['attribution', `/console/reports/attribution?site=${site}&by=term`, [XSS.keyword]],
      ['attribution-campaign', `/console/reports/attribution?site=${site}&by=campaign`, [XSS.campaign]],
      ['sites', `/console/sites?site=${site}`, ['Summer Travel']],
      ['unknown-site', `/console/customers?site=${encodeURIComponent(XSS.name)}`, [XSS.name]],
    ];
    for (const [name, url, visible] of pages) {
      const response = await tab.goto(`${server.url}${url}`);
      expect(response!.headers()['content-security-policy']).toContain("script-src 'self'");
      if (name === 'unknown-site') problems.length = 0; // its 404 is logged by Chromium
      const text = await bodyText();
      for (const payload of visible) expect(text, `${name} shows ${payload}`).toContain(payload);
      await shoot(`20-xss-${name}`);
      await expectNoScriptRan();
    }

    // No link made from a visitor's javascript: URL, and every visitor link leaves safely.
    await tab.goto(`${server.url}/console/customers/${attacker}`);
    expect(await tab.locator('a[href^="javascript:"]').count()).toBe(0);
    for (const rel of await tab.locator('a.ext').evaluateAll((links) => links.map((a) => a.getAttribute('rel')))) {
      expect(rel).toBe('noopener noreferrer nofollow');
    }
    expect(await tab.locator('img').count()).toBe(0);

    // The offer preview fills placeholders with the attacker's traits: as text.
    await tab.goto(`${server.url}/console/offers/${offerId}`);
    await tab.fill('#preview-customer', XSS.alert);
    await expect.poll(() => tab.locator('.rapport-offer__title').textContent()).toBe(`Welcome back, ${XSS.svg}!`);
    await tab.hover('.rapport-offer__title');
    await shoot('21-xss-offer-preview');
    await expectNoScriptRan();
  });

  it('logs out: the session is gone on the server', async () => {
    await tab.goto(`${server.url}/console?site=${server.site.id}`);
    const cookie = (await context.cookies()).find((c) => c.name === 'rapport_console')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    await tab.click('button >> text=Log out');
    await tab.waitForURL(/\/console\/login/);
    expect(await bodyText()).toContain('You are logged out.');
    // The old cookie no longer opens anything.
    const res = await fetch(`${server.url}/console`, { headers: { cookie: `rapport_console=${cookie.value}` }, redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(/^\/console\/login/);
    await expectNoScriptRan();
  });
});
