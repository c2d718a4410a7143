// The SDK as a customer's site uses it: one script tag on a page of another origin, in real
// Chromium, against the real server. What the browser did is read back through the admin API.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userHashOf } from '../packages/server/src/identity/verify';
import { startTestServer, type TestServer } from '../packages/server/src/test-support/server';
import { launchChromium } from './support/browser';
import { eventually } from './support/eventually';
import { startStaticSite, type StaticSite } from './support/static-site';
import type { StoredEvent } from './support/stored-event';

type RapportWindow = Window & { rapport?: { anonymousId(): string; userId(): string | undefined; flush(): Promise<void>; ready(cb: () => void): void } };

let server: TestServer;
let site: StaticSite;
let browser: Browser;
let siteId: string;
let writeKey = '';
/** The shop's backend signs the user id at login; the page hands the hash to identify. */
let userHash = '';
let offerId: string;
const problems: string[] = [];

/** A page of the customer's site with the script tag, made when it is served (the write key comes later). */
const page = (title: string, body: string) => () => `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title><link rel="icon" href="data:,">
<script async src="${server.url}/sdk.js" data-write-key="${writeKey}"></script>
</head><body>${body.replaceAll('%USER_HASH%', userHash)}</body></html>`;

beforeAll(async () => {
  server = await startTestServer();
  site = await startStaticSite({
    '/': page('Home', `<main><div class="card"><a id="tour" href="/tour">Thailand   tours</a></div></main>`),
    '/offer': page('Offer', `<div data-rapport-slot="e2e-hero"><p>Default hero</p></div>`),
    '/tour': page(
      'Thailand tour',
      `<div data-rapport-slot="tour-hero">Default hero</div>
         <button id="login" type="button" onclick="rapport.identify('u-e2e', { email: 'e2e@example.com' }, { userHash: '%USER_HASH%' })">Log in</button>`,
    ),
  });
  // A site whose allowed origin is the static site: the SDK's requests are cross-origin.
  const created = await server.createSite({ name: 'E2E shop', origins: [site.url] });
  writeKey = created.writeKey;
  userHash = userHashOf(created.secret, 'u-e2e');
  siteId = created.id;
  const offer = await server.api('POST', '/api/offers', {
    site: siteId,
    name: 'E2E hero',
    slot: 'e2e-hero',
    segment: null,
    priority: 1,
    status: 'active',
    controlPercent: 0,
    content: {
      title: '<img src=x onerror="window.__pwned=1">Thailand for families',
      text: 'Two weeks, all inclusive.',
      link: '/tour',
      linkText: 'See the tour',
    },
  });
  expect(offer).toMatchObject({ status: 201 });
  offerId = offer.body.id;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await server?.stop();
});

/** Waits until the script tag has loaded and the SDK has started (page view, slots). */
const started = async (tab: Page) => {
  await tab.waitForFunction(() => typeof (window as RapportWindow).rapport?.anonymousId == 'function');
  await tab.evaluate(() => new Promise<void>((resolve) => (window as RapportWindow).rapport!.ready(resolve)));
  return tab.evaluate(() => ({
    anonymousId: (window as RapportWindow).rapport!.anonymousId(),
    userId: (window as RapportWindow).rapport!.userId(),
  }));
};

const events = async (): Promise<StoredEvent[]> => {
  const res = await fetch(`${server.url}/api/events?site=${siteId}&limit=100`, {
    headers: { authorization: `Bearer ${server.adminToken}` },
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { events: StoredEvent[] };
  return body.events.sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.receivedAt.localeCompare(b.receivedAt));
};


describe('the script tag in Chromium, against the real server', () => {
  it('stores page views, a click and an identify under one anonymous id across a reload', async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    tab.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    tab.on('console', (message) => {
      if (message.type() == 'error' || message.type() == 'warning')
        problems.push(`console: ${message.text()} (${message.location().url})`);
    });

    await tab.goto(`${site.url}/?utm_source=e2e&utm_medium=test`);
    const first = await started(tab);

    // A link to another page of the site: the click leaves with the page (beacon).
    await Promise.all([tab.waitForURL(`${site.url}/tour`), tab.click('#tour')]);
    const second = await started(tab);
    expect(second.anonymousId).toBe(first.anonymousId);
    // No offer for this slot: it keeps its default, visible.
    expect(await tab.textContent('[data-rapport-slot]')).toBe('Default hero');
    expect(await tab.$eval('[data-rapport-slot]', (el) => getComputedStyle(el).visibility)).toBe('visible');

    await tab.click('#login');
    await tab.reload();
    const third = await started(tab);
    expect(third).toEqual({ anonymousId: first.anonymousId, userId: 'u-e2e' });
    await tab.evaluate(() => (window as RapportWindow).rapport!.flush());

    const stored = await eventually(
      events,
      (list) =>
        list.filter((e) => e.type == 'page').length >= 3 &&
        list.some((e) => e.event == 'Link Clicked') &&
        list.some((e) => e.type == 'identify'),
    );
    await context.close();

    const pages = stored.filter((e) => e.type == 'page');
    expect(pages.map((e) => e.context!.page!.path)).toEqual(['/', '/tour', '/tour']);
    expect(new Set(stored.map((e) => e.anonymousId))).toEqual(new Set([first.anonymousId]));
    expect(stored.every((e) => e.context!.library!.name == 'rapport.js')).toBe(true);

    // Referral: the landing page's campaign, kept as first touch on later events.
    expect(pages[0].context!.campaign).toMatchObject({ source: 'e2e', medium: 'test' });
    expect(pages[2].context!.firstTouch).toMatchObject({
      landingUrl: `${site.url}/?utm_source=e2e&utm_medium=test`,
      campaign: { source: 'e2e', medium: 'test' },
    });
    // Navigation path: each page view knows the page before.
    expect(pages[1].context!.page!.previous).toBe(`${site.url}/?utm_source=e2e&utm_medium=test`);

    const click = stored.find((e) => e.event == 'Link Clicked')!;
    expect(click.properties).toEqual({ text: 'Thailand tours', href: `${site.url}/tour`, path: 'a#tour' });

    const identify = stored.find((e) => e.type == 'identify')!;
    expect(identify).toMatchObject({ userId: 'u-e2e', traits: { email: 'e2e@example.com' } });
    expect(stored.some((e) => e.event == 'Button Clicked' && e.properties!.text == 'Log in')).toBe(true);
    expect(pages[2].userId).toBe('u-e2e');
    expect(pages[0].userId).toBeNull();

    // Every message was stored once, whatever carried it (fetch or beacon).
    expect(new Set(stored.map((e) => e.messageId)).size).toBe(stored.length);
    expect(problems).toEqual([]);
    expect(site.requests).toEqual([
      '/?utm_source=e2e&utm_medium=test',
      '/tour',
      '/tour',
    ]);
  });

  it('renders an offer into its slot as text, and records its impression and click', async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    tab.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await tab.goto(`${site.url}/offer`);
    const visitor = await started(tab);

    const slot = '[data-rapport-slot="e2e-hero"]';
    expect(await tab.$eval(slot, (el) => el.getAttribute('data-rapport-offer'))).toBe(offerId);
    expect(await tab.textContent(`${slot} .rapport-offer__title`)).toBe(
      '<img src=x onerror="window.__pwned=1">Thailand for families',
    );
    expect(await tab.$$(`${slot} img`)).toHaveLength(0);
    expect(await tab.getAttribute(`${slot} a.rapport-offer__link`, 'href')).toBe(`${site.url}/tour`);
    expect(await tab.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();

    await Promise.all([tab.waitForURL(`${site.url}/tour`), tab.click(`${slot} a`)]);
    await started(tab);
    await tab.evaluate(() => (window as RapportWindow).rapport!.flush());

    const mine = (list: StoredEvent[]) => list.filter((e) => e.anonymousId == visitor.anonymousId);
    const stored = mine(
      await eventually(events, (list) => ['Offer Viewed', 'Offer Clicked'].every((n) => mine(list).some((e) => e.event == n))),
    );
    await context.close();
    const properties = { offerId, slot: 'e2e-hero', variant: 'offer' };
    expect(stored.filter((e) => e.event == 'Offer Viewed').map((e) => e.properties)).toEqual([properties]);
    expect(stored.filter((e) => e.event == 'Offer Clicked').map((e) => e.properties)).toEqual([properties]);
    expect(problems).toEqual([]);
  });
});
