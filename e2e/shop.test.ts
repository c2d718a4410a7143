// The demo shop's customer journeys in real Chromium, against what `npm start` runs: the
// launcher examples/shop/start.mjs (from the sources, on free ports, over a fresh database)
// starts Rapport and the shop and seeds the stories. The browser plays the visitors; the admin
// API (as the console would) checks what Rapport made of them.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inControlGroup } from '../packages/server/src/decisions/bucket';
import { launchChromium } from './support/browser';
import { launchDemo as launch, stopDemo as stop, type Demo } from './support/demo';
import { eventually } from './support/eventually';

interface Offer {
  id: string;
  name: string;
  slot: string;
  controlPercent: number;
}
interface Decision {
  slots: Record<string, { offerId: string; variant: 'offer' | 'control'; content: Record<string, string> | null } | null>;
}
interface StoredEvent {
  type: string;
  event: string | null;
  anonymousId: string | null;
  userId: string | null;
  properties: Record<string, any> | null;
  traits: Record<string, any> | null;
}
type RapportWindow = Window & {
  rapport: { anonymousId(): string; userId(): string | undefined; flush(): Promise<void>; ready(cb: () => void): void };
};

let dir: string;
let demo: Demo;
let browser: Browser;
const offers: Record<string, Offer> = {};
const contexts: BrowserContext[] = [];
const problems: string[] = [];
/** Impressions and clicks the journeys caused, per offer name: the reports must count the same. */
const expected: Record<
  string,
  { impressions: number; clicks: number; controlViews: number; exposures: Set<string>; control: Set<string> }
> = {};

const HERO = '[data-rapport-slot="home-hero"]';
const EXTRA = '[data-rapport-slot="product-extra"]';
const GRADUATE = '/?utm_source=google&utm_medium=organic&utm_term=argentina+backpacking';
const PARENT = '/?utm_source=google&utm_medium=organic&utm_term=family+holiday+thailand';

async function api<T = any>(method: string, pathname: string, body?: unknown): Promise<T> {
  const res = await fetch(demo.rapport + pathname, {
    method,
    headers: { authorization: `Bearer ${demo.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status, `${method} ${pathname}`).toBeLessThan(300);
  return (await res.json()) as T;
}

const eventsOf = async (anonymousId: string) =>
  (await api<{ events: StoredEvent[] }>('GET', `/api/events?site=${demo.siteId}&anonymousId=${anonymousId}&limit=200`)).events;

interface Visitor {
  context: BrowserContext;
  tab: Page;
  anonymousId: string;
  /** Who the reports count: the first anonymous id of the customer (a second browser gets its first browser's). */
  customer: string;
}

/**
 * A new visitor in a browser context of their own. Offers keep 10% of visitors on the default
 * (the control group), by a stable hash of the customer's first anonymous id and the offer: the
 * visitor's id is chosen so that they are in the control group of exactly the offers named, and
 * set as the SDK's id cookie before the first page.
 */
async function visitor(inControlOf: string[] = []): Promise<Visitor> {
  const control = new Set(inControlOf.map((name) => offers[name].id));
  let id: string;
  do id = randomUUID();
  while (!Object.values(offers).every((o) => inControlGroup(id, o.id, o.controlPercent) === control.has(o.id)));
  const context = await browser.newContext();
  contexts.push(context);
  await context.addCookies([{ name: 'rapport_id', value: id, url: demo.shop }]);
  // The SDK keeps a slot's default when the decision takes longer than 400 ms, so that content
  // never flips in front of a visitor. A busy test machine can take that long; the documented
  // options stub gives the test's pages more time. The shop's pages are unchanged.
  await context.addInitScript(() => {
    (window as unknown as { rapport: unknown }).rapport = { q: [], options: { slotTimeout: 5000 } };
  });
  const tab = await context.newPage();
  tab.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  tab.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  return { context, tab, anonymousId: id, customer: id };
}

/** Waits for the SDK to have started on this page: page view recorded, slots filled or timed out. */
async function started(tab: Page) {
  await tab.waitForFunction(() => typeof (window as unknown as RapportWindow).rapport?.ready === 'function');
  await tab.evaluate(() => new Promise<void>((resolve) => (window as unknown as RapportWindow).rapport.ready(resolve)));
}

/**
 * Once every slot has been on screen (the SDK's impression is recorded by an
 * IntersectionObserver made before ours, so it has fired too), sends what the SDK holds.
 */
async function settle(tab: Page) {
  await tab.evaluate(async () => {
    const slots = [...document.querySelectorAll('[data-rapport-slot]')];
    await Promise.all(
      slots.map(
        (el) =>
          new Promise<void>((resolve) => {
            const observer = new IntersectionObserver(
              (entries) => {
                if (entries.some((e) => e.isIntersecting && e.intersectionRatio >= 0.5)) observer.disconnect(), resolve();
              },
              { threshold: 0.5 },
            );
            observer.observe(el);
            setTimeout(resolve, 2000);
          }),
      ),
    );
    const { rapport } = window as unknown as RapportWindow;
    await rapport.flush();
    await rapport.flush();
  });
}

/**
 * Runs `navigate` (a goto or a click) to a page with slots and returns the decisions for them,
 * once the page has settled: what Rapport answered the browser, and what the shop's server
 * decided and rendered into the page (the home hero). What the page showed is tallied for the
 * reports.
 */
async function decided(v: Visitor, navigate: () => Promise<unknown>): Promise<Decision> {
  const answers: Promise<Decision>[] = [];
  const onResponse = (r: { url(): string; json(): Promise<unknown> }) => {
    if (r.url().endsWith('/v1/decide')) answers.push(r.json() as Promise<Decision>);
  };
  v.tab.on('response', onResponse);
  try {
    await navigate();
    await started(v.tab);
    await settle(v.tab);
  } finally {
    v.tab.off('response', onResponse);
  }
  const decision: Decision = { slots: {} };
  for (const answer of await Promise.all(answers)) Object.assign(decision.slots, answer.slots);
  const rendered = await v.tab.$$eval('[data-rapport-decision]', (els) =>
    els.map((el) => [el.getAttribute('data-rapport-slot')!, JSON.parse(el.getAttribute('data-rapport-decision')!)] as const),
  );
  for (const [slot, answer] of rendered) decision.slots[slot] = answer;
  for (const answer of Object.values(decision.slots)) {
    if (!answer) continue;
    const name = Object.values(offers).find((o) => o.id === answer.offerId)!.name;
    const tally = (expected[name] ??= { impressions: 0, clicks: 0, controlViews: 0, exposures: new Set(), control: new Set() });
    if (answer.variant === 'control') {
      tally.controlViews++;
      tally.control.add(v.customer);
    } else {
      tally.impressions++;
      if (!tally.control.has(v.customer)) tally.exposures.add(v.customer);
    }
  }
  return decision;
}
const visit = (v: Visitor, pathname: string) => decided(v, () => v.tab.goto(demo.shop + pathname));
/** The same for a page without slots. */
async function go(v: Visitor, navigate: () => Promise<unknown>) {
  await navigate();
  await started(v.tab);
  await settle(v.tab);
}
const follow = (v: Visitor, selector: string, url: string | RegExp) =>
  Promise.all([v.tab.waitForURL(url), v.tab.click(selector)]);

/** What a slot shows: the offer id and title, or null for its default content. */
const slotShows = (tab: Page, slot: string) =>
  tab.$eval(slot, (el) =>
    el.getAttribute('data-rapport-offer')
      ? { offerId: el.getAttribute('data-rapport-offer'), title: el.querySelector('.rapport-offer__title')?.textContent ?? null }
      : null,
  );

const clicked = (name: string) => expected[name].clicks++;

async function logIn(v: Visitor, username: string) {
  await go(v, () => v.tab.goto(`${demo.shop}/login`));
  await v.tab.fill('input[name=username]', username);
  await v.tab.fill('input[name=password]', 'demo');
  return decided(v, () => follow(v, '#login-form button[type=submit]', `${demo.shop}/`));
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rapport-shop-'));
  demo = await launch(path.join(dir, 'rapport.db'));
  browser = await launchChromium();
  for (const offer of (await api<{ offers: Offer[] }>('GET', `/api/offers?site=${demo.siteId}`)).offers) offers[offer.name] = offer;
});

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
  expect(problems.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  if (demo) await stop(demo);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the demo shop that `npm start` runs', () => {
  it('prints the shop, Rapport and console URLs, the admin token, the write key and a link per story', async () => {
    const out = demo.output();
    expect(demo.shop).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(demo.rapport).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(demo.shop).not.toBe(demo.rapport);
    expect(out).toContain(`Console:      ${demo.rapport}/console`);
    expect(demo.adminToken.length).toBeGreaterThan(20);
    expect(demo.writeKey).toMatch(/^wk_/);
    expect(out).toContain('Seeded:       7 segments, 7 offers and 1 automation');
    for (const link of [GRADUATE, PARENT, '/stories#returning', '/stories#second-browser', '/stories#cart']) expect(out).toContain(demo.shop + link);
    expect(out).toContain('4. Leave a cart: an email with a coupon arrives at /outbox about a minute later');
    expect(demo.mailCatcher).toMatch(/^smtp:\/\/127\.0\.0\.1:\d+$/);
    expect(out).toContain(`read them at ${demo.shop}/outbox`);

    // The demo site: the shop's origin may send, and user ids must be signed.
    const site = await api('GET', `/api/sites/${demo.siteId}`);
    expect(site).toMatchObject({
      name: 'Demo shop',
      writeKey: demo.writeKey,
      requireUserHash: true,
      // Its emails go to the demo's mail catcher.
      smtpUrl: demo.mailCatcher,
      mailFrom: 'Far & Wide <hello@farandwide.example>',
    });
    expect(site.origins).toContain(demo.shop);
    // The script tag, filled in by the shop's server.
    const home = await (await fetch(`${demo.shop}/`)).text();
    expect(home).toContain(`<script async src="${demo.rapport}/sdk.js" data-write-key="${demo.writeKey}"></script>`);
    expect(Object.keys(offers).sort()).toEqual([
      'Cross-sell: family travel kit',
      'Cross-sell: travel essentials',
      'Cross-sell: trekking kit',
      'Extreme-sports insurance for backpackers',
      'Family hotels with babysitting',
      'First-order discount',
      'Insure this trip',
    ]);
  });

  it('works opened by hand: home, a category, a product, the cart and the stories load without console errors', async () => {
    const v = await visitor();
    const { tab } = v;
    // A visitor from nowhere in particular: the hero keeps its default.
    const home = await visit(v, '/');
    expect(home.slots['home-hero']).toBeNull();
    expect(await slotShows(tab, HERO)).toBeNull();
    expect(await tab.textContent(`${HERO} h1`)).toBe('Travel far, travel well');
    expect(await tab.$eval(HERO, (el) => getComputedStyle(el).visibility)).toBe('visible');
    await tab.waitForSelector('[data-products="featured"] a.card');
    expect(await tab.$$eval('[data-products="featured"] a.card', (cards) => cards.length)).toBe(5);

    await go(v, () => follow(v, '.categories-nav a[href="/trips"]', `${demo.shop}/trips`));
    await tab.waitForSelector('[data-products="category"] a.card');
    expect(await tab.title()).toBe('Trips · Far & Wide');

    // A trip page: its product slot offers insurance for the trip.
    const product = await decided(v, () => follow(v, 'a[href="/trips/iceland-ring-road"]', `${demo.shop}/trips/iceland-ring-road`));
    expect(product.slots['product-extra']).toMatchObject({ offerId: offers['Insure this trip'].id, variant: 'offer' });
    expect(await slotShows(tab, EXTRA)).toEqual({ offerId: offers['Insure this trip'].id, title: 'Insure this trip' });
    expect(await tab.textContent('h1')).toBe('Iceland ring road, 9 days');
    await tab.waitForSelector('[data-add-to-cart]:not([disabled])');
    await tab.click('[data-add-to-cart]');
    expect(await tab.textContent('[data-cart-count]')).toBe('1');

    await go(v, () => follow(v, 'a.cart-link', `${demo.shop}/cart`));
    await tab.waitForSelector('table.lines');
    expect(await tab.textContent('table.lines')).toContain('Iceland ring road');

    // The stories page plays the outside world: no Rapport on it.
    await tab.goto(`${demo.shop}/stories`);
    expect(await tab.$$('script[data-write-key]')).toHaveLength(0);
    expect(await tab.$$eval('a[data-story]', (links) => links.length)).toBe(5);

    const stored = await eventually(
      () => eventsOf(v.anonymousId),
      (list) => list.some((e) => e.event === 'Cart Viewed'),
    );
    const names = stored.map((e) => e.event).filter(Boolean);
    for (const name of ['Product List Viewed', 'Product Viewed', 'Product Added', 'Cart Viewed']) expect(names).toContain(name);
    expect(stored.find((e) => e.event === 'Product Added')!.properties).toMatchObject({
      product_id: 'iceland-ring-road',
      sku: 'ICELAND-RING-ROAD',
      category: 'trip',
      price: 2190,
      quantity: 1,
      currency: 'EUR',
    });
    expect(stored.filter((e) => e.type === 'page')).toHaveLength(4);
  });

  it('story 1: two searchers see different offers in the same hero slot, on their first page view', async () => {
    const graduate = await visitor();
    const parent = await visitor();
    const [g, p] = await Promise.all([visit(graduate, GRADUATE), visit(parent, PARENT)]);

    expect(g.slots['home-hero']).toMatchObject({ offerId: offers['Extreme-sports insurance for backpackers'].id, variant: 'offer' });
    expect(await slotShows(graduate.tab, HERO)).toEqual({
      offerId: offers['Extreme-sports insurance for backpackers'].id,
      title: 'Going off the beaten track?',
    });
    expect(p.slots['home-hero']).toMatchObject({ offerId: offers['Family hotels with babysitting'].id, variant: 'offer' });
    expect(await slotShows(parent.tab, HERO)).toEqual({
      offerId: offers['Family hotels with babysitting'].id,
      title: 'A holiday the grown-ups enjoy too',
    });

    // The graduate follows the offer to the insurance page.
    const cover = await decided(graduate, () =>
      follow(graduate, `${HERO} a.rapport-offer__link`, `${demo.shop}/insurance/extreme-sports-cover`),
    );
    clicked('Extreme-sports insurance for backpackers');
    // Not a trip page: the product slot keeps its default.
    expect(cover.slots['product-extra']).toBeNull();
    expect(await graduate.tab.textContent('h1')).toBe('Extreme sports cover');

    // Rapport read the keyword from the landing URL's campaign: medium search, source, term.
    const found = await eventually(
      () => api('GET', `/api/profiles?site=${demo.siteId}&anonymousId=${graduate.anonymousId}`),
      (body) => body.profiles[0]?.computed.keywords.length > 0,
    );
    expect(found.profiles[0].computed.firstTouch).toMatchObject({ medium: 'search', source: 'Google', term: 'argentina backpacking' });
  });

  it('keeps a visitor in the control group on the default content, and counts them', async () => {
    const v = await visitor(['Extreme-sports insurance for backpackers']);
    const decision = await visit(v, GRADUATE);
    expect(decision.slots['home-hero']).toMatchObject({
      offerId: offers['Extreme-sports insurance for backpackers'].id,
      variant: 'control',
    });
    expect(await slotShows(v.tab, HERO)).toBeNull();
    expect(await v.tab.textContent(`${HERO} h1`)).toBe('Travel far, travel well');
    const stored = await eventually(
      () => eventsOf(v.anonymousId),
      (list) => list.some((e) => e.event === 'Offer Control Exposed'),
    );
    expect(stored.find((e) => e.event === 'Offer Control Exposed')!.properties).toEqual({
      offerId: offers['Extreme-sports insurance for backpackers'].id,
      slot: 'home-hero',
      variant: 'control',
    });
  });

  it('story 2: three visits without an order bring a first-order discount; after checkout, a cross-sell for what was bought', async () => {
    const v = await visitor();
    const { tab } = v;
    const visits = () =>
      api('GET', `/api/profiles?site=${demo.siteId}&anonymousId=${v.anonymousId}`).then((b) => b.profiles[0]?.computed.visits ?? 0);

    // Visits 1 and 2, each from another campaign (a new campaign starts a new visit).
    expect((await visit(v, '/?utm_source=newsletter&utm_medium=email&utm_campaign=spring-newsletter')).slots['home-hero']).toBeNull();
    await decided(v, () => follow(v, 'a[href="/trips/patagonia-trek"]', /\/trips\/patagonia-trek$/));
    expect(await eventually(visits, (n) => n === 1)).toBe(1);
    expect((await visit(v, '/?utm_source=instagram&utm_medium=social&utm_campaign=summer-reels')).slots['home-hero']).toBeNull();
    expect(await eventually(visits, (n) => n === 2)).toBe(2);

    // Visit 3: the discount, on its landing page already.
    const third = await visit(v, '/?utm_source=google&utm_medium=cpc&utm_campaign=brand');
    expect(third.slots['home-hero']).toMatchObject({ offerId: offers['First-order discount'].id, variant: 'offer' });
    expect(await slotShows(tab, HERO)).toEqual({ offerId: offers['First-order discount'].id, title: 'Welcome back! 10% off your first trip' });
    expect(await tab.textContent(`${HERO} .rapport-offer__text`)).toContain('FIRSTTRIP');
    await go(v, () => follow(v, `${HERO} a.rapport-offer__link`, `${demo.shop}/trips`));
    clicked('First-order discount');

    // The visitor buys the Patagonia trek with the code.
    await tab.waitForSelector('a[href="/trips/patagonia-trek"]');
    await decided(v, () => follow(v, 'a[href="/trips/patagonia-trek"]', /\/trips\/patagonia-trek$/));
    await tab.waitForSelector('[data-add-to-cart]:not([disabled])');
    await tab.click('[data-add-to-cart]');
    await go(v, () => follow(v, 'a.cart-link', `${demo.shop}/cart`));
    await tab.waitForSelector('table.lines');
    await go(v, () => follow(v, 'a.button[href="/checkout"]', `${demo.shop}/checkout`));
    await tab.waitForSelector('[data-summary] .total');
    await tab.fill('input[name=name]', 'Robin Meyer');
    await tab.fill('input[name=email]', 'robin@example.com');
    await tab.fill('input[name=coupon]', 'firsttrip');
    await go(v, () => follow(v, '#checkout-form button[type=submit]', /\/thanks\?order=FW-/));
    const orderId = new URL(tab.url()).searchParams.get('order');
    expect(await tab.textContent('[data-order-id]')).toBe(orderId);

    // Back on the home page, the hero has turned to the gear for the trek.
    const after = await decided(v, () => follow(v, 'main a.button', `${demo.shop}/`));
    expect(after.slots['home-hero']).toMatchObject({ offerId: offers['Cross-sell: trekking kit'].id, variant: 'offer' });
    expect(await slotShows(tab, HERO)).toEqual({ offerId: offers['Cross-sell: trekking kit'].id, title: 'Ready for the trail, Robin?' });
    expect(await tab.$eval(`${HERO} a.rapport-offer__link`, (a) => (a as HTMLAnchorElement).href)).toBe(`${demo.shop}/accessories/trekking-backpack-40l`);

    // The e-commerce events, as the Segment spec names them.
    const stored = await eventually(
      () => eventsOf(v.anonymousId),
      (list) => list.some((e) => e.event === 'Order Completed'),
    );
    const names = new Set(stored.map((e) => e.event));
    for (const name of ['Product Viewed', 'Product Added', 'Cart Viewed', 'Checkout Started', 'Coupon Applied', 'Order Completed']) {
      expect(names).toContain(name);
    }
    expect(stored.find((e) => e.event === 'Order Completed')!.properties).toMatchObject({
      order_id: orderId,
      revenue: 1701,
      total: 1701,
      discount: 189,
      coupon: 'FIRSTTRIP',
      currency: 'EUR',
      products: [{ product_id: 'patagonia-trek', sku: 'PATAGONIA-TREK', category: 'trip', price: 1890, quantity: 1 }],
    });
    const profile = (await api('GET', `/api/profiles?site=${demo.siteId}&anonymousId=${v.anonymousId}`)).profiles[0];
    expect(profile.computed).toMatchObject({ orders: 1, revenue: 1701, visits: 3 });
    expect(profile.traits).toMatchObject({
      firstName: 'Robin',
      email: 'robin@example.com',
      lastOrder: { id: orderId, categories: ['trip'] },
    });
  });

  it('story 3: a customer who logs in on a second browser is the same customer, with the same offers', async () => {
    const insurance = offers['Extreme-sports insurance for backpackers'];
    // First browser: Lena arrives from her search and logs in.
    const first = await visitor();
    expect((await visit(first, GRADUATE)).slots['home-hero']).toMatchObject({ offerId: insurance.id, variant: 'offer' });
    const home = await logIn(first, 'lena');
    expect(home.slots['home-hero']).toMatchObject({ offerId: insurance.id, variant: 'offer' });
    expect(await first.tab.textContent('[data-user-name]')).toBe('Lena');

    // Second browser, whose own anonymous id would put it in that offer's control group: before
    // login it is a stranger (default hero); after login it is Lena, control bucket and all.
    const second = await visitor([insurance.name]);
    expect((await visit(second, '/')).slots['home-hero']).toBeNull();
    expect(await slotShows(second.tab, HERO)).toBeNull();
    second.customer = first.customer;
    const merged = await logIn(second, 'lena');
    expect(merged.slots['home-hero']).toEqual(home.slots['home-hero']);
    expect(await slotShows(second.tab, HERO)).toEqual({ offerId: insurance.id, title: 'Going off the beaten track?' });

    // One customer in the admin API, holding both browsers' anonymous ids.
    const found = await api('GET', `/api/profiles?site=${demo.siteId}&userId=cust_1001`);
    expect(found.profiles).toHaveLength(1);
    const profile = await api('GET', `/api/profiles/${found.profiles[0].id}`);
    expect(profile.userId).toBe('cust_1001');
    expect(profile.traits).toMatchObject({ name: 'Lena Fischer', email: 'lena@example.com' });
    expect(profile.identities).toEqual(
      expect.arrayContaining([
        { kind: 'anonymous', value: first.anonymousId },
        { kind: 'anonymous', value: second.anonymousId },
        { kind: 'user', value: 'cust_1001' },
      ]),
    );
    expect(profile.merges.length).toBeGreaterThanOrEqual(1);
    expect(profile.computed.keywords).toContain('argentina backpacking');
    const bySecond = await api('GET', `/api/profiles?site=${demo.siteId}&anonymousId=${second.anonymousId}`);
    expect(bySecond.profiles.map((p: { id: string }) => p.id)).toEqual([profile.id]);

    // Logout forgets her in this browser: a new anonymous id, and the default hero again.
    const out = await decided(first, () => follow(first, '[data-logout]', `${demo.shop}/`));
    expect(out.slots['home-hero']).toBeNull();
    const ids = await first.tab.evaluate(() => ({
      anonymousId: (window as unknown as RapportWindow).rapport.anonymousId(),
      userId: (window as unknown as RapportWindow).rapport.userId() ?? null,
    }));
    expect(ids.userId).toBeNull();
    expect(ids.anonymousId).not.toBe(first.anonymousId);
    expect(await first.tab.isVisible('[data-signed-out]')).toBe(true);
  });

  it('reports count the impressions, clicks and control exposures that happened', async () => {
    expect(Object.keys(expected).sort()).toEqual([
      'Cross-sell: trekking kit',
      'Extreme-sports insurance for backpackers',
      'Family hotels with babysitting',
      'First-order discount',
      'Insure this trip',
    ]);
    for (const [name, tally] of Object.entries(expected)) {
      const report = await eventually(
        () => api('GET', `/api/offers/${offers[name].id}/report`),
        (r) => r.offer.impressions >= tally.impressions && r.offer.clicks >= tally.clicks && r.control.impressions >= tally.controlViews,
      );
      expect({
        name,
        impressions: report.offer.impressions,
        clicks: report.offer.clicks,
        exposures: report.offer.exposures,
        controlViews: report.control.impressions,
        controlExposures: report.control.exposures,
      }).toEqual({
        name,
        impressions: tally.impressions,
        clicks: tally.clicks,
        exposures: tally.exposures.size,
        controlViews: tally.controlViews,
        controlExposures: tally.control.size,
      });
      expect(report.controlPercent).toBe(10);
    }
    // What the stories add up to: the graduate and Lena (her two browsers are one customer) saw
    // the insurance four times, one visitor was kept on the default.
    expect(expected['Extreme-sports insurance for backpackers']).toMatchObject({ impressions: 4, clicks: 1, controlViews: 1 });
    expect(expected['Extreme-sports insurance for backpackers'].exposures.size).toBe(2);
    // The discount's visitor ordered within the goal's window: a conversion in the offer group.
    const discount = await api('GET', `/api/offers/${offers['First-order discount'].id}/report`);
    expect(discount.offer).toMatchObject({ exposures: 1, impressions: 1, clicks: 1, conversions: 1, conversionRate: 1 });
  });

  it('stops on SIGTERM and, started again on the same database, seeds nothing twice', async () => {
    expect(await stop(demo)).toBe(0);
    expect(demo.output()).toContain('SIGTERM: closing the shop, Rapport and the mail catcher');
    const before = demo;
    demo = await launch(path.join(dir, 'rapport.db'));
    expect(demo.output()).toContain('Seeded:       nothing new');
    expect(demo.adminToken).toBe(before.adminToken);
    expect(demo.writeKey).toBe(before.writeKey);
    expect(demo.shop).not.toBe(before.shop);
    expect((await api('GET', `/api/offers?site=${demo.siteId}`)).offers).toHaveLength(7);
    expect((await api('GET', `/api/segments?site=${demo.siteId}`)).segments).toHaveLength(7);
    // The automation is kept, its email's cart link moved to the new shop; the new catcher takes the mail.
    expect(demo.output()).toContain(`"Cart abandonment" updated: waits 1m, links to ${demo.shop}/cart`);
    const { automations } = await api('GET', `/api/automations?site=${demo.siteId}`);
    expect(automations.map((a: { name: string }) => a.name)).toEqual(['Cart abandonment']);
    expect(automations[0].steps[0].else[0].then[1].email.html).toContain(`<a href="${demo.shop}/cart">`);
    expect(JSON.stringify(automations[0].steps)).not.toContain(before.shop);
    expect((await api('GET', `/api/sites/${demo.siteId}`)).smtpUrl).toBe(demo.mailCatcher);
    // The restarted shop's new origin is allowed as well: its pages get offers.
    const v = await visitor();
    expect((await visit(v, GRADUATE)).slots['home-hero']).toMatchObject({ variant: 'offer' });
    expect((await eventsOf(v.anonymousId)).length).toBeGreaterThan(0);
  });
});
