// Browser libraries of the Segment spec that nobody here wrote, bundled from npm as a shop would
// bundle them, with their default settings, in real Chromium against a real Rapport server.
//
// The shop's page (http://shop.test:<port>) and Rapport (http://rapport.test:<port>) are two
// origins: Chromium resolves both names to 127.0.0.1 (a host-resolver rule, which fails every
// other name: nothing can reach a CDN), and enforces CORS itself. No request is intercepted: a
// recording proxy in front of the server forwards everything, preflights included, so the
// browser acts on the server's own answers; it can also lose one answer, to make a client retry.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser';
import type { CollectProxy, Exchange } from '../support/collect-proxy';
import { eventually } from '../support/eventually';
import { startStaticSite, type StaticSite } from '../support/static-site';
import {
  browserBundle, clientServer, collectCalls, hasTypes, messagesOf, resentIds, serverRefusals, serverWarnings, storedProfile, TYPES, type StoredEvent,
} from './support';

const SHOP_HOST = 'shop.test';
const RAPPORT_HOST = 'rapport.test';

// The server, started before the shop and the browser and stopped after them, and the sites of
// the tests with a proxy in front of the server each (`rapport.rig`).
const rapport = clientServer();
let shop: StaticSite;
let shopOrigin: string;
let browser: Browser;

/** What each page of the shop is set up with, by path: filled in by each test before it loads the page. */
const setups = new Map<string, { writeKey: string; rapport: string; batching?: boolean }>();
const setupOf = (path: string) => {
  const setup = setups.get(path);
  if (!setup) throw new Error(`no setup for ${path}`);
  return setup;
};

const head = (title: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><link rel="icon" href="data:,">`;

/**
 * analytics-next as its npm docs say: `AnalyticsBrowser.load({ writeKey, cdnSettings })` instead
 * of fetching the settings from Segment's CDN (what they would say for this write key: the
 * Segment.io destination and nothing else), and the Segment.io destination pointed at Rapport.
 */
const segmentPage = (path: string) => () => {
  const { writeKey, rapport, batching } = setupOf(path);
  const segmentio: Record<string, unknown> = { apiHost: `${new URL(rapport).host}/v1`, protocol: 'http' };
  if (batching) segmentio.deliveryStrategy = { strategy: 'batching' };
  return `${head('Segment shop')}
<script src="/analytics-next.js"></script>
<script>
  window.loaded = AnalyticsBrowser.load(
    { writeKey: ${JSON.stringify(writeKey)}, cdnSettings: { integrations: { 'Segment.io': { apiKey: ${JSON.stringify(writeKey)} } } } },
    { integrations: { 'Segment.io': ${JSON.stringify(segmentio)} } },
  ).then(([analytics]) => { window.analytics = analytics; });
</script></head><body><h1>Shop</h1></body></html>`;
};

/**
 * RudderStack's v3 SDK, its `bundled` export (the plugins inside the bundle, instead of loaded
 * from its CDN), with the source configuration served by the shop instead of RudderStack's
 * control plane (`configUrl`).
 */
const rudderPage = (path: string) => () => {
  const { writeKey, rapport } = setupOf(path);
  return `${head('RudderStack shop')}
<script src="/rudderstack.js"></script>
<script>
  const rudder = new RudderAnalytics();
  window.rudder = rudder;
  window.loaded = new Promise((resolve) => rudder.ready(resolve));
  rudder.load(${JSON.stringify(writeKey)}, ${JSON.stringify(rapport)}, { configUrl: location.origin });
</script></head><body><h1>Shop</h1></body></html>`;
};

/** What RudderStack's control plane would answer for a source with no device-mode destination. */
const sourceConfig = () =>
  JSON.stringify({
    isHosted: false,
    source: {
      id: 'rapport-e2e-source',
      name: 'Rapport e2e shop',
      writeKey: setupOf('/rudderstack').writeKey,
      enabled: true,
      workspaceId: 'rapport-e2e-workspace',
      config: {},
      destinations: [],
    },
  });

beforeAll(async () => {
  const [segment, rudder] = await Promise.all([
    browserBundle('@segment/analytics-next', 'AnalyticsBrowser'),
    browserBundle('@rudderstack/analytics-js/bundled', 'RudderAnalytics'),
  ]);
  const script = (body: string) => ({ contentType: 'text/javascript; charset=utf-8', body });
  shop = await startStaticSite({
    '/analytics-next.js': script(segment),
    '/rudderstack.js': script(rudder),
    '/segment': segmentPage('/segment'),
    '/segment-batching': segmentPage('/segment-batching'),
    '/rudderstack': rudderPage('/rudderstack'),
    '/sourceConfig/': { contentType: 'application/json', body: sourceConfig },
  });
  shopOrigin = `http://${SHOP_HOST}:${new URL(shop.url).port}`;
  browser = await launchChromium({
    extraArgs: [`--host-resolver-rules=MAP ${SHOP_HOST} 127.0.0.1, MAP ${RAPPORT_HOST} 127.0.0.1, MAP * ~NOTFOUND`],
  });
});

afterAll(async () => {
  await browser?.close();
  await shop?.close();
});

interface Visit {
  site: { id: string; writeKey: string };
  proxy: CollectProxy;
  context: BrowserContext;
  tab: Page;
  /** Page errors, console errors and warnings, failed requests: anything the browser complained about. */
  problems: string[];
  /** Every URL the browser requested. */
  requested: string[];
  events: () => Promise<StoredEvent[]>;
}

/** A site of its own whose allowed origin is the shop, a proxy in front of the server, a fresh browser profile. */
async function visit(path: string, setup: { batching?: boolean; origins?: string[] } = {}): Promise<Visit> {
  // Browser senders here send bare user ids (no userHash): a site that requires verified ones
  // would store them as anonymous, which is not what these tests are about.
  const { site, proxy, events } = await rapport.rig(`Shop ${path}`, setup.origins ?? [shopOrigin]);
  setups.set(path, { writeKey: site.writeKey, rapport: `http://${RAPPORT_HOST}:${proxy.port}`, batching: setup.batching });
  const context = await browser.newContext();
  const tab = await context.newPage();
  const problems: string[] = [];
  const requested: string[] = [];
  tab.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  tab.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  context.on('request', (request) => requested.push(request.url()));
  context.on('requestfailed', (request) =>
    problems.push(`request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`),
  );
  await tab.goto(`${shopOrigin}${path}`);
  await tab.evaluate(() => (window as unknown as { loaded: Promise<unknown> }).loaded);
  return { site, proxy, context, tab, problems, requested, events };
}

/** Nothing but the shop and Rapport was asked for: no CDN, no settings or plugin server, no metrics host. */
function expectOnlyLocalRequests(v: Visit) {
  const hosts = new Set(v.requested.map((url) => new URL(url).host));
  expect([...hosts].sort()).toEqual([`${RAPPORT_HOST}:${v.proxy.port}`, new URL(shopOrigin).host].sort());
}

/** Chromium asked the server before sending (the Authorization header is not CORS-safelisted): CORS was in play. */
function expectPreflights(v: Visit, paths: string[]) {
  const asked = new Set(v.proxy.exchanges.filter((e) => e.method === 'OPTIONS').map((e) => e.path));
  expect(paths.filter((p) => !asked.has(p))).toEqual([]);
}

/** The checks every browser client must pass. */
function expectStoredOnce(stored: StoredEvent[], ids: { anonymousId: string; userId: string }, path: string) {
  expect(stored.map((e) => e.type).sort()).toEqual([...TYPES].sort());
  expect(new Set(stored.map((e) => e.messageId)).size).toBe(stored.length);
  const of = (type: string) => stored.find((e) => e.type === type)!;
  expect(new Set(stored.map((e) => e.anonymousId))).toEqual(new Set([ids.anonymousId]));

  expect(of('page')).toMatchObject({ name: 'Home', userId: null });
  expect(of('page').properties).toMatchObject({ path, url: `${shopOrigin}${path}`, title: expect.stringContaining('shop') });
  expect(of('track')).toMatchObject({ event: 'Order Completed', userId: null });
  expect(of('track').properties).toMatchObject({ orderId: 'o-1', revenue: 42.5, currency: 'EUR' });
  // The alias comes before the login, from the visitor's own anonymous id: the sign-up.
  expect(of('alias')).toMatchObject({ userId: ids.userId });
  expect(of('alias').extra).toMatchObject({ previousId: ids.anonymousId });
  expect(of('identify')).toMatchObject({ userId: ids.userId });
  // Where the traits are depends on the library: `traits` (Segment), `context.traits` (RudderStack).
  expect({ ...of('identify').context?.traits, ...of('identify').traits }).toMatchObject({ email: 'ada@example.com', name: 'Ada Lovelace' });
  expect(of('group')).toMatchObject({ userId: ids.userId });
  expect(of('group').extra).toMatchObject({ groupId: 'acme' });
  expect(of('group').traits).toMatchObject({ name: 'Acme Corp', plan: 'enterprise' });
  for (const e of stored) expect(Math.abs(Date.parse(e.timestamp) - Date.now())).toBeLessThan(60_000);
  // The visit and the login are one person.
  expect(new Set(stored.map((e) => e.profileId)).size).toBe(1);
}

/** The person's profile: both ids, and the traits given at login. */
async function expectProfile(stored: StoredEvent[], ids: { anonymousId: string; userId: string }) {
  const profile = await storedProfile(rapport.server, stored[0].profileId);
  expect(profile.identities).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ kind: 'anonymous', value: ids.anonymousId }),
      expect.objectContaining({ kind: 'user', value: ids.userId }),
    ]),
  );
  expect.soft(profile.traits, 'the profile has the traits of identify').toMatchObject({ email: 'ada@example.com', name: 'Ada Lovelace' });
}

/** The retried messages were sent again, by id, after the answer to `failed` was lost, and stored once. */
function expectRetried(v: Visit, stored: StoredEvent[], failed: Exchange) {
  const lost = messagesOf(failed).map((m) => m.messageId as string);
  expect(lost.length).toBeGreaterThan(0);
  const resent = resentIds(v.proxy.exchanges);
  expect(lost.every((id) => resent.has(id))).toBe(true);
  for (const id of lost) expect(stored.filter((e) => e.messageId === id)).toHaveLength(1);
}

/** Calls every method once, in a shop's order: a visit, an order, sign-up (alias), login, company. */
type Client = 'segment' | 'rudder';
async function sendAll(tab: Page, client: Client) {
  return tab.evaluate(async (client) => {
    const w = window as any;
    const order = { orderId: 'o-1', revenue: 42.5, currency: 'EUR' };
    const traits = { email: 'ada@example.com', name: 'Ada Lovelace' };
    const company = { name: 'Acme Corp', plan: 'enterprise' };
    if (client === 'segment') {
      const a = w.analytics;
      const anonymousId = a.user().anonymousId();
      // Each call resolves once the Segment.io destination has handled it: sent (or queued to retry), or added to the batch.
      await a.page('Shop', 'Home');
      await a.track('Order Completed', order);
      await a.alias('u-ada');
      await a.identify('u-ada', traits);
      await a.group('acme', company);
      return { anonymousId };
    }
    const r = w.rudder;
    const anonymousId = r.getAnonymousId();
    r.page('Shop', 'Home');
    r.track('Order Completed', order);
    r.alias('u-ada');
    r.identify('u-ada', traits);
    r.group('acme', company);
    return { anonymousId };
  }, client);
}

/** Done waiting: everything arrived and a retry was made, or the server refused something (no use waiting). */
const settled = (v: Visit, events: StoredEvent[]) =>
  serverRefusals(v.proxy.exchanges).length > 0 || (hasTypes(TYPES)(events) && resentIds(v.proxy.exchanges).size > 0);

const lostAnswer = (v: Visit, path: string) =>
  eventually(
    async () => collectCalls(v.proxy.exchanges).find((e) => e.path === path && e.fault),
    (found) => found !== undefined,
    10_000,
  );

describe('@segment/analytics-next in Chromium, default settings', () => {
  it('sends one request per event to the short paths, cross-origin, and a retried event is stored once', async () => {
    const v = await visit('/segment');
    // The server stores the first track, and its answer is lost: a 500 the library retries.
    v.proxy.failNext('answer-500', (method, path) => method === 'POST' && path === '/v1/t');
    const { anonymousId } = await sendAll(v.tab, 'segment');

    const stored = await eventually(v.events, (e) => settled(v, e));
    expect(serverRefusals(v.proxy.exchanges), 'what the server refused').toEqual([]);
    const calls = collectCalls(v.proxy.exchanges);
    expect(new Set(calls.map((c) => c.path))).toEqual(new Set(['/v1/p', '/v1/t', '/v1/a', '/v1/i', '/v1/g']));
    const failed = (await lostAnswer(v, '/v1/t'))!;
    const retry = calls.find((c) => c !== failed && c.path === '/v1/t')!;
    expect(retry.headers['x-retry-count']).toBe('1');
    // Each request is a simple text/plain body with Basic auth: the Authorization header is what
    // makes it need a preflight, and X-Retry-Count on the retry.
    expect(calls.every((c) => String(c.headers['content-type']).startsWith('text/plain'))).toBe(true);
    expect(calls.every((c) => c.headers.origin === shopOrigin)).toBe(true);
    expectPreflights(v, ['/v1/p', '/v1/t', '/v1/a', '/v1/i', '/v1/g']);

    expectStoredOnce(stored, { anonymousId, userId: 'u-ada' }, '/segment');
    expectRetried(v, stored, failed);
    await expectProfile(stored, { anonymousId, userId: 'u-ada' });
    expect(stored.every((e) => e.context?.library?.name === 'analytics.js')).toBe(true);
    expect.soft(serverWarnings(v.proxy.exchanges), 'warnings of the server').toEqual([]);
    expect(stored.find((e) => e.type === 'page')!.enrichment.referral).toMatchObject({ medium: 'direct', referrer: null });
    // The only complaint: the lost answer (a 500 Chromium logs on the console).
    expect(v.problems.filter((p) => !/status of 500/.test(p))).toEqual([]);
    expectOnlyLocalRequests(v);
    await v.context.close();
  });

  it('in batching mode sends batches to /v1/b, and a retried batch is stored once', async () => {
    const v = await visit('/segment-batching', { batching: true });
    v.proxy.failNext('answer-500', (method, path) => method === 'POST' && path === '/v1/b');
    const { anonymousId } = await sendAll(v.tab, 'segment');

    // The first batch leaves after the default 5 s; its retry shortly after.
    const stored = await eventually(v.events, (e) => settled(v, e), 20_000);
    expect(serverRefusals(v.proxy.exchanges), 'what the server refused').toEqual([]);
    const calls = collectCalls(v.proxy.exchanges);
    expect(new Set(calls.map((c) => c.path))).toEqual(new Set(['/v1/b']));
    const failed = (await lostAnswer(v, '/v1/b'))!;
    expect(messagesOf(failed).map((m) => m.type).sort()).toEqual([...TYPES].sort());
    expect(calls.find((c) => c !== failed)!.headers['x-retry-count']).toBe('1');
    expectPreflights(v, ['/v1/b']);

    expectStoredOnce(stored, { anonymousId, userId: 'u-ada' }, '/segment-batching');
    expectRetried(v, stored, failed);
    await expectProfile(stored, { anonymousId, userId: 'u-ada' });
    expect.soft(serverWarnings(v.proxy.exchanges), 'warnings of the server').toEqual([]);
    expect(v.problems.filter((p) => !/status of 500/.test(p))).toEqual([]);
    expectOnlyLocalRequests(v);
    await v.context.close();
  });
});

describe('@rudderstack/analytics-js (v3) in Chromium, default settings', () => {
  it('sends with its AnonymousId and SentAt headers and userId "" cross-origin, and a retried event is stored once', async () => {
    const v = await visit('/rudderstack');
    v.proxy.failNext('answer-500', (method, path) => method === 'POST' && path === '/v1/track');
    const { anonymousId } = await sendAll(v.tab, 'rudder');

    // Its retry queue waits 1 s before the first retry.
    const stored = await eventually(v.events, (e) => settled(v, e), 10_000);
    expect(serverRefusals(v.proxy.exchanges), 'what the server refused').toEqual([]);
    const calls = collectCalls(v.proxy.exchanges);
    expect(new Set(calls.map((c) => c.path))).toEqual(new Set(['/v1/page', '/v1/track', '/v1/alias', '/v1/identify', '/v1/group']));
    for (const call of calls) {
      expect(call.headers.anonymousid).toBe(Buffer.from(anonymousId).toString('base64'));
      expect(call.headers.sentat).toBeTruthy();
      expect(call.headers.origin).toBe(shopOrigin);
    }
    // Anonymous events say so with an empty user id.
    const sentPage = calls.flatMap(messagesOf).find((m) => m.type === 'page')!;
    expect(sentPage.userId).toBe('');
    const failed = (await lostAnswer(v, '/v1/track'))!;
    const retry = calls.find((c) => c !== failed && c.path === '/v1/track')!;
    // The retry carries RudderStack's Rsa-* headers (attempt, reason, delays), which its preflight must allow.
    expect(retry.headers['rsa-retry-attempt']).toBe('1');
    expectPreflights(v, ['/v1/page', '/v1/track', '/v1/alias', '/v1/identify', '/v1/group']);

    expectStoredOnce(stored, { anonymousId, userId: 'u-ada' }, '/rudderstack');
    expectRetried(v, stored, failed);
    await expectProfile(stored, { anonymousId, userId: 'u-ada' });
    expect(stored.every((e) => e.context?.library?.name === 'RudderLabs JavaScript SDK')).toBe(true);
    expect(v.problems.filter((p) => !/status of 500|Failed to deliver event\(s\)/.test(p))).toEqual([]);
    expectOnlyLocalRequests(v);
    await v.context.close();

    // What the server said. It tells, on each anonymous event, that it took `userId: ""` for no
    // user id (by design); anything else would mean a field of RudderStack's was not understood.
    const warnings = serverWarnings(v.proxy.exchanges).filter((line) => !/empty_user_id \(userId\)/.test(line));
    expect.soft(warnings, 'warnings of the server').toEqual([]);
    // RudderStack's referrer for a direct visit is the placeholder "$direct", not "".
    const page = stored.find((e) => e.type === 'page')!;
    expect(page.context?.page?.referrer).toBe('$direct');
    expect.soft(page.enrichment.referral, 'a direct visit').toMatchObject({
      medium: 'direct',
      referrer: null,
    });
  });
});

describe('CORS, enforced by Chromium', () => {
  it("a site that does not allow the shop's origin gets nothing from its page", async () => {
    // Another site of the same server allows the shop, so the preflight (which names no site)
    // passes; the request itself names a site that does not.
    await rapport.server.createSite({ name: 'Neighbour', origins: [shopOrigin] });
    const v = await visit('/segment', { origins: ['http://elsewhere.test'] });
    await v.tab.evaluate(async () => {
      const a = (window as any).analytics;
      await a.track('Order Completed', { orderId: 'o-2' });
    });
    expect(await v.events()).toEqual([]);
    const call = collectCalls(v.proxy.exchanges).find((c) => c.path === '/v1/t')!;
    expect(call.upstream).toMatchObject({ status: 403 });
    expect(call.upstream!.headers['access-control-allow-origin']).toBeUndefined();
    // The browser did not let the page read the answer.
    expect(v.problems.some((p) => /CORS policy/.test(p))).toBe(true);
    await v.context.close();
  });
});
