import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../test-support/app.js';
import { COOKIELESS_PREFIX, CookielessIds } from './cookieless.js';
import { userHashOf } from './verify.js';

// Cookieless mode: the server's daily id for a browser that stores nothing, over the store under
// test, on the app's clock.

const DAY = 86_400_000;
const start = Date.UTC(2026, 11, 1, 10);
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
let t: TestApp;
let n = 0;

beforeAll(async () => {
  t = await startTestApp(start);
  const offer = await t.api('POST', '/api/offers', {
    site: t.site.id,
    name: 'Hello',
    slot: 'hero',
    priority: 1,
    content: { title: 'Hi {{traits.firstName|there}}', text: '' },
  });
  expect(offer.status).toBe(201);
});
afterAll(() => t.close());

/** A browser's request: its socket address and user agent, with the write key. */
async function post(path: string, body: unknown, ip: string, userAgent = CHROME) {
  const response = await t.app.request(
    path,
    {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${t.site.writeKey}:`).toString('base64')}`,
        'content-type': 'application/json',
        'user-agent': userAgent,
      },
      body: JSON.stringify(body),
    },
    // As the Node server passes it; `readableEnded` sends the body reader to the Request.
    { incoming: { readableEnded: true, socket: { remoteAddress: ip } } },
  );
  return { status: response.status, body: await response.json() };
}

const cookieless = (message: Record<string, unknown>) => ({ messageId: `c-${++n}`, context: { cookieless: true }, ...message });
const batch = (ip: string, messages: Array<Record<string, unknown>>, userAgent?: string) =>
  post('/v1/batch', { batch: messages.map(cookieless) }, ip, userAgent);
const idsOf = async () => new Set((await t.store.listEvents({ siteId: t.site.id, limit: 1000 })).items.map((e) => e.anonymousId));

describe('cookieless ids', () => {
  it('are the same for one site, /24 and user agent on one day, and differ otherwise', async () => {
    const ids = new CookielessIds(t.store, () => t.clock.now);
    const id = await ids.idFor('site_a', '203.0.113.7', CHROME);
    expect(id.startsWith(COOKIELESS_PREFIX)).toBe(true);
    expect(await ids.idFor('site_a', '203.0.113.99', CHROME)).toBe(id);
    expect(await ids.idFor('site_b', '203.0.113.7', CHROME)).not.toBe(id);
    expect(await ids.idFor('site_a', '203.0.114.7', CHROME)).not.toBe(id);
    expect(await ids.idFor('site_a', '203.0.113.7', FIREFOX)).not.toBe(id);
    // Another node on the same store derives the same id.
    expect(await new CookielessIds(t.store, () => t.clock.now).idFor('site_a', '203.0.113.7', CHROME)).toBe(id);
  });

  it('change with the day, and the old day’s salt is deleted', async () => {
    const clock = { now: start + 3 * DAY };
    const ids = new CookielessIds(t.store, () => clock.now);
    const today = await ids.idFor('site_a', '198.51.100.1', CHROME);
    const key = `cookieless_salt:${Math.floor(clock.now / DAY)}`;
    expect(await t.store.getMeta(key)).not.toBeNull();
    clock.now += DAY;
    expect(await ids.idFor('site_a', '198.51.100.1', CHROME)).not.toBe(today);
    expect(await t.store.getMeta(key)).toBeNull();
  });
});

describe('cookieless collect and decide', () => {
  it('join one day’s visits into one profile, ignore an id the page names, and fill slots', async () => {
    const first = await batch('192.0.2.10', [{ type: 'page', name: 'Home' }]);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    // A page in cookieless mode cannot pick another visitor's id.
    await batch('192.0.2.11', [{ type: 'identify', anonymousId: 'someone-else', traits: { firstName: 'Cleo' } }]);
    const events = (await t.store.listEvents({ siteId: t.site.id, limit: 10 })).items;
    expect(new Set(events.map((e) => e.anonymousId)).size).toBe(1);
    expect(events[0].anonymousId!.startsWith(COOKIELESS_PREFIX)).toBe(true);
    expect(await t.store.findProfileId(t.site.id, 'anonymous', 'someone-else')).toBeNull();
    const profile = (await t.store.getProfile(t.site.id, (await t.store.findProfileId(t.site.id, 'anonymous', events[0].anonymousId!))!))!;
    expect(profile.computed.eventCount).toBe(2);

    const decided = await post('/v1/decide', { slots: ['hero'], context: { cookieless: true } }, '192.0.2.12');
    expect(decided.status).toBe(200);
    expect(decided.body.slots.hero.content.title).toBe('Hi Cleo');
    // No salt in anything stored with the events.
    const salt = (await t.store.getMeta(`cookieless_salt:${Math.floor(t.clock.now / DAY)}`))!;
    expect(JSON.stringify(events)).not.toContain(salt);
  });

  it('show a known customer only to a page with their verified user id', async () => {
    await batch('192.0.2.77', [{ type: 'identify', userId: 'u-cleo', traits: { firstName: 'Known' } }]);
    // A neighbour behind the same /24 with the same browser derives the same id.
    const neighbour = await post('/v1/decide', { slots: ['hero'], context: { cookieless: true } }, '192.0.2.78');
    expect(neighbour.body.slots.hero.content.title).toBe('Hi there');
    const bare = await post('/v1/decide', { slots: ['hero'], userId: 'u-cleo', context: { cookieless: true } }, '192.0.2.78');
    expect(bare.body.slots.hero.content.title).toBe('Hi there');
    const verified = await post('/v1/decide', { slots: ['hero'], userId: 'u-cleo', context: { cookieless: true, userHash: userHashOf(t.site.secret, 'u-cleo') } }, '192.0.2.78');
    expect(verified.body.slots.hero.content.title).toBe('Hi Known');
  });

  it('start a new visitor the next day', async () => {
    const before = await idsOf();
    t.clock.now += DAY;
    await batch('192.0.2.10', [{ type: 'page', name: 'Home' }]);
    const after = await idsOf();
    expect(after.size).toBe(before.size + 1);
    const decided = await post('/v1/decide', { slots: ['hero'], context: { cookieless: true } }, '192.0.2.10');
    expect(decided.body.slots.hero.content.title).toBe('Hi there');
  });

  it('still need an id without the marker, and from the site secret', async () => {
    const bare = await post('/v1/batch', { batch: [{ type: 'page', messageId: 'bare-1' }] }, '192.0.2.10');
    expect(bare.status).toBe(400);
    const decide = await post('/v1/decide', { slots: ['hero'] }, '192.0.2.10');
    expect(decide.status).toBe(400);
    expect(decide.body.error).toMatch(/anonymousId/);
    // A server's call names its own ids: the marker derives nothing from the shop server's address.
    const trusted = await t.app.request('/v1/batch', {
      method: 'POST',
      headers: { authorization: `Bearer ${t.site.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: [cookieless({ type: 'page' })] }),
    });
    expect(trusted.status).toBe(400);
  });
});
