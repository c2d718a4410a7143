import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../test-support/app.js';
import type { Site } from '../store/types.js';
import { signSelfServiceLink } from './link.js';

// The customer self-service page over HTTP, on every store: what it shows and hides, the
// changes it makes (each a trusted message marked as self-service), export, erasure with its
// confirmation, the 403 of links that do not verify, and the headers that keep the token safe.

const T0 = Date.UTC(2026, 4, 1, 12);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let t: TestApp;
let site: Site;
let shown: string;
let hidden: string;
let n = 0;
const mid = () => `ss-${++n}`;
const at = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  t = await startTestApp(T0);
  shown = (await t.api('POST', '/api/segments', { site: t.site.id, name: 'Gold members', rule: { field: 'traits.plan', op: 'eq', value: 'gold' } })).body.id;
  hidden = (await t.api('POST', '/api/segments', { site: t.site.id, name: 'Likely to churn', rule: { field: 'traits.plan', op: 'exists' } })).body.id;
  const patched = await t.api('PATCH', `/api/sites/${t.site.id}`, {
    timeZone: 'Europe/Berlin',
    selfService: {
      editableTraits: ['firstName', 'lastName', 'address', 'phone', 'newsletter'],
      shownSegments: [shown],
      cssUrl: 'https://cdn.shop.example/me.css',
      logoUrl: 'https://img.shop.example/logo.svg',
    },
  });
  expect(patched.status, JSON.stringify(patched.body)).toBe(200);
  site = t.sites.get(t.site.id)!;
});
afterAll(() => t.close());

/** A customer of the test site: an identify and a little browsing, sent by the site's server. */
async function customer(userId: string, traits: Record<string, unknown> = {}) {
  const anonymousId = `anon-${userId}`;
  const res = await trusted({
    batch: [
      { type: 'identify', messageId: mid(), anonymousId, userId, timestamp: at(T0 - 2 * DAY), traits: { firstName: 'Alice', lastName: 'Liddell', email: `${userId}@example.com`, plan: 'gold', ...traits } },
      {
        type: 'page',
        messageId: mid(),
        anonymousId,
        userId,
        timestamp: at(T0 - DAY),
        context: { page: { url: 'https://shop.example/trips/thailand?utm_source=x', path: '/trips/thailand', title: 'Trips to Thailand' }, ip: '203.0.113.9' },
      },
      { type: 'track', messageId: mid(), anonymousId, userId, event: 'Product Viewed', timestamp: at(T0 - HOUR), properties: { product_id: 'p-secret-internal' } },
    ],
  });
  expect(res.status).toBe(200);
  return (await t.api('GET', `/api/profiles?site=${site.id}&userId=${userId}`)).body.profiles[0].id as string;
}

const trusted = async (body: unknown) => {
  const res = await t.app.request('/v1/batch', { method: 'POST', headers: { authorization: `Bearer ${site.secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
};
const linkFor = (userId: string, days = 7, s: Site = t.sites.get(site.id)!) => `/me/${signSelfServiceLink({ site: s, userId, expiresAt: new Date(t.clock.now + days * DAY) })}`;
const get = (path: string) => t.app.request(path);
const post = (path: string, form: Record<string, string> | string) =>
  t.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
  });
const profile = async (id: string) => (await t.api('GET', `/api/profiles/${id}`)).body;
const eventsOf = async (id: string) => (await t.api('GET', `/api/profiles/${id}/events?limit=100`)).body.events as Array<Record<string, any>>;
/** The text of a page without its markup, for what a person reads. */
const textOf = (html: string) =>
  html
    .replace(/<style[\s\S]*?<\/style>/, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(quot|amp|lt|gt|#39);/g, (_m, e: string) => ({ quot: '"', amp: '&', lt: '<', gt: '>', '#39': "'" })[e]!)
    .replace(/\s+/g, ' ');

function expectPrivateHeaders(res: Response) {
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('x-robots-tag')).toMatch(/noindex/);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; /);
  expect(res.headers.get('content-security-policy')).not.toMatch(/script-src|unsafe-inline/);
}

describe('the page', () => {
  it("shows the person's traits, consent, shown segments only and recent activity in the site's time zone", async () => {
    await customer('alice', { address: { street: '1 Rabbit Hole', city: 'Oxford' } });
    const res = await get(linkFor('alice'));
    expect(res.status).toBe(200);
    const html = await res.text();
    const text = textOf(html);
    expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true);
    expect(text).toContain('Your data at Test site');
    for (const shownText of ['First name Alice', 'Last name Liddell', 'alice@example.com', 'Plan gold', 'Street: 1 Rabbit Hole', 'City: Oxford']) expect(text).toContain(shownText);
    expect(text).toContain('Gold members');
    expect(text).not.toContain('Likely to churn');
    // Activity: the page by title and path, the event by name, in Berlin time (UTC+2 in May).
    expect(text).toContain(`${at(T0 - DAY).slice(0, 10)} 14:00 Europe/Berlin Trips to Thailand /trips/thailand`);
    expect(text).toContain('Product Viewed');
    // Nothing raw: no anonymous id, no IP, no properties, no query string of the URL.
    for (const raw of ['anon-alice', '203.0.113', 'p-secret-internal', 'utm_source', 'trusted']) expect(html).not.toContain(raw);
    // Consent: every purpose asked in a fieldset with a legend, none chosen yet.
    expect(html.match(/<fieldset[^>]*><legend>(Marketing|Analytics|Personalization)<\/legend>/g)).toHaveLength(3);
    expect(html).not.toMatch(/<input type="radio"[^>]*checked/);
    expect(text).toContain('No choice recorded yet.');
  });

  it('labels every field and offers only the editable traits', async () => {
    const html = await (await get(linkFor('alice'))).text();
    const ids = [...html.matchAll(/<(?:input|textarea|select)\b[^>]*\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(expect.arrayContaining(['trait-firstName', 'trait-lastName', 'trait-phone', 'trait-address-street', 'trait-address-city']));
    for (const id of ids) expect(html, id).toContain(`<label for="${id}">`);
    // Every visible input is one of the labelled ones (radios sit inside their labels).
    const inputs = [...html.matchAll(/<(input|textarea|select)\b([^>]*)>/g)].filter(([, , attrs]) => !/type="(hidden|radio)"/.test(attrs));
    expect(inputs.length).toBe(ids.length);
    expect(html).not.toContain('name="trait:email"');
    expect(html).not.toContain('name="trait:plan"');
    expect(html).toMatch(/<input id="trait-firstName" name="trait:firstName" type="text" maxlength="500" value="Alice"/);
  });

  it("is styled by the site: its stylesheet after Rapport's own, its logo with the site's name, allowed by the CSP and nothing more", async () => {
    const res = await get(linkFor('alice'));
    const html = await res.text();
    expectPrivateHeaders(res);
    const css = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
    const hash = `'sha256-${createHash('sha256').update(css).digest('base64')}'`;
    expect(res.headers.get('content-security-policy')).toBe(
      `default-src 'none'; style-src ${hash} https://cdn.shop.example; img-src https://img.shop.example; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
    );
    expect(html.indexOf('<link rel="stylesheet" href="https://cdn.shop.example/me.css"/>')).toBeGreaterThan(html.indexOf('</style>'));
    expect(html).toContain('<img src="https://img.shop.example/logo.svg" alt="Test site"/>');
    // Contrast of the default colours against white: WCAG AA for text (4.5:1), with room.
    for (const colour of ['ink', 'muted', 'accent', 'danger']) {
      const hex = new RegExp(`--${colour}: (#[0-9a-f]{6})`).exec(css)![1];
      expect(contrast(hex, '#ffffff'), colour).toBeGreaterThan(7);
    }
    expect(css).toMatch(/:focus-visible \{ outline: 3px solid/);
  });

  it('says that nothing is kept for a valid link of a user it has never seen', async () => {
    const res = await get(linkFor('never-seen'));
    expect(res.status).toBe(200);
    expect(textOf(await res.text())).toContain('Nothing is kept about you by Test site');
    expect((await post(`${linkFor('never-seen')}/traits`, { 'trait:firstName': 'X' })).status).toBe(404);
    expect((await t.api('GET', `/api/profiles?site=${site.id}&userId=never-seen`)).body.profiles).toHaveLength(0);
  });
});

describe('changes', () => {
  it('stores a corrected trait as a trusted identify marked self-service, and the profile has it', async () => {
    const id = await customer('bob', { phone: '+44 1', newsletter: true });
    const link = linkFor('bob');
    t.clock.now += 60_000;
    const res = await post(`${link}/traits`, {
      'trait:firstName': '  Robert ',
      'trait:lastName': 'Liddell',
      'trait:phone': '',
      'trait:address.street': '2 Looking Glass Lane',
      'trait:address.city': 'Oxford',
      'trait:newsletter': 'no',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${link}?done=traits`);
    const after = await profile(id);
    expect(after.traits).toMatchObject({ firstName: 'Robert', lastName: 'Liddell', phone: null, newsletter: false, address: { street: '2 Looking Glass Lane', city: 'Oxford' } });
    const [latest] = await eventsOf(id);
    expect(latest).toMatchObject({
      type: 'identify',
      userId: 'bob',
      trust: 'trusted',
      context: { source: 'self-service' },
      // Only what changed: the last name was already Liddell.
      traits: { firstName: 'Robert', phone: null, newsletter: false, address: { street: '2 Looking Glass Lane', city: 'Oxford' } },
    });
    expect(latest.traits).not.toHaveProperty('lastName');
    const page = textOf(await (await get(res.headers.get('location')!)).text());
    expect(page).toContain('Your details are saved.');
    expect(page).toContain('You corrected your details here');
  });

  it('changes nothing when nothing changed', async () => {
    const id = await customer('carol');
    const before = (await eventsOf(id)).length;
    const res = await post(`${linkFor('carol')}/traits`, { 'trait:firstName': 'Alice', 'trait:lastName': 'Liddell' });
    expect(res.headers.get('location')).toMatch(/done=unchanged$/);
    expect(await eventsOf(id)).toHaveLength(before);
  });

  it.each([
    [{ 'trait:email': 'someone@else.example' }, 'trait:email', '"email" is not something you can change here'],
    [{ 'trait:plan': 'platinum' }, 'trait:plan', '"plan" is not something you can change here'],
    [{ 'trait:firstName': 'x'.repeat(501) }, 'trait:firstName', 'must have at most 500 characters'],
    [{ 'trait:address.street': 'x'.repeat(201) }, 'trait:address.street', 'must have at most 200 characters'],
    [{ 'trait:address.planet': 'Mars' }, 'trait:address.planet', 'is not a field of this form'],
    [{ 'trait:firstName.part': 'x' }, 'trait:firstName.part', 'is not a field of this form'],
    [{ 'trait:firstName': 'a\u0007b' }, 'trait:firstName', 'contains characters that are not text'],
    [{ isAdmin: 'true' }, 'isAdmin', 'is not a field of this form'],
  ])('refuses %j with a 400 naming the field, and changes nothing', async (form, field, reason) => {
    const id = await customer(`dave-${++n}`);
    const before = await profile(id);
    const res = await post(`${linkFor(before.userId)}/traits`, form);
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(textOf(html)).toContain(`Not saved. ${field}: ${reason}`);
    expect(html).toMatch(/role="alert"/);
    expect((await profile(id)).traits).toEqual(before.traits);
  });

  it('refuses a form that is not one, or too large', async () => {
    await customer('erin');
    const json = await t.app.request(`${linkFor('erin')}/traits`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"trait:firstName":"x"}' });
    expect(json.status).toBe(415);
    const big = await post(`${linkFor('erin')}/traits`, `trait:firstName=${'x'.repeat(20_000)}`);
    expect(big.status).toBe(413);
    expectPrivateHeaders(big);
  });

  it('records a consent change in computed.consent as the trusted choice of the person, and shows it', async () => {
    const id = await customer('frank');
    const link = linkFor('frank');
    const res = await post(`${link}/consent`, { 'consent:marketing': 'withdrawn', 'consent:analytics': 'granted' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${link}?done=consent`);
    const after = await profile(id);
    expect(after.computed.consent).toMatchObject({ marketing: { granted: false, trust: 'trusted' }, analytics: { granted: true, trust: 'trusted' } });
    expect(after.computed.consent).not.toHaveProperty('personalization');
    const [latest] = await eventsOf(id);
    expect(latest).toMatchObject({ type: 'track', event: 'Consent Updated', context: { source: 'self-service' }, properties: { purposes: { marketing: false, analytics: true } } });
    const html = await (await get(link)).text();
    expect(html).toMatch(/name="consent:marketing" value="withdrawn" checked/);
    expect(html).toMatch(/name="consent:analytics" value="granted" checked/);
    expect((await post(`${link}/consent`, { 'consent:tracking': 'granted' })).status).toBe(400);
    expect((await post(`${link}/consent`, { 'consent:marketing': 'maybe' })).status).toBe(400);
  });

  it('starts the automations a self-service message triggers, as a message from the site would', async () => {
    await customer('gina');
    const automation = await t.api('POST', '/api/automations', {
      site: site.id,
      name: 'After a consent change',
      status: 'active',
      trigger: { event: 'Consent Updated' },
      steps: [{ wait: '1d' }, { tag: { add: 'asked' } }],
    });
    expect(automation.status, JSON.stringify(automation.body)).toBe(201);
    expect((await post(`${linkFor('gina')}/consent`, { 'consent:personalization': 'granted' })).status).toBe(303);
    const runs = (await t.api('GET', `/api/automations/${automation.body.id}/runs?limit=10`)).body.runs;
    expect(runs).toHaveLength(1);
  });
});

describe('export and erasure', () => {
  it("downloads everything kept about the person as JSON, with the person's events", async () => {
    await customer('hal');
    const res = await get(`${linkFor('hal')}/export`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="my-data-2026-05-01\.json"$/);
    expectPrivateHeaders(res);
    const data = await res.json();
    expect(data.profile).toMatchObject({ userId: 'hal', traits: { firstName: 'Alice' } });
    expect(data.events.map((e: { type: string }) => e.type).sort()).toEqual(['identify', 'page', 'track']);
  });

  it('erases only after the confirmation, and then the profile is gone', async () => {
    const id = await customer('ivy');
    const link = linkFor('ivy');
    const ask = await get(`${link}/erase`);
    expect(ask.status).toBe(200);
    const question = await ask.text();
    expect(question).toContain(`<form method="post" action="${link}/erase">`);
    expect(question).toContain('<input type="hidden" name="confirm" value="yes"/>');
    expect(textOf(question)).toContain('3 recorded events');
    // A POST without the confirmation asks again and deletes nothing.
    const bare = await post(`${link}/erase`, '');
    expect(bare.status).toBe(400);
    expect(await t.store.getProfile(site.id, id)).not.toBeNull();
    const done = await post(`${link}/erase`, { confirm: 'yes' });
    expect(done.status).toBe(200);
    expect(textOf(await done.text())).toContain('is deleted, with 3 events');
    expect(await t.store.getProfile(site.id, id)).toBeNull();
    expect(textOf(await (await get(link)).text())).toContain('Nothing is kept about you');
    expect((await get(`${link}/export`)).status).toBe(404);
  });
});

describe('links that do not open the page', () => {
  it('answers 403 saying the link expired, for a link the site signed', async () => {
    await customer('jack');
    const link = linkFor('jack', 1);
    t.clock.now += DAY;
    try {
      for (const res of [await get(link), await post(`${link}/traits`, { 'trait:firstName': 'X' }), await get(`${link}/export`), await post(`${link}/erase`, { confirm: 'yes' })]) {
        expect(res.status).toBe(403);
        expectPrivateHeaders(res);
        expect(textOf(await res.text())).toContain('This link has expired');
      }
    } finally {
      t.clock.now -= DAY;
    }
    expect((await t.api('GET', `/api/profiles?site=${site.id}&userId=jack`)).body.profiles).toHaveLength(1);
  });

  it('answers 403 saying the link is not valid when it was changed, forged or is garbage, never a 500', async () => {
    const good = linkFor('jack');
    const [payload, signature] = good.slice('/me/'.length).split('.');
    const otherUser = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), u: 'alice' })).toString('base64url');
    const forged = signSelfServiceLink({ site: { id: site.id, secret: 'sk_guessed' }, userId: 'alice', expiresAt: new Date(T0 + DAY) });
    for (const path of [
      `/me/${otherUser}.${signature}`,
      `/me/${payload}.${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`,
      `/me/${forged}`,
      '/me/nonsense',
      `/me/${'a'.repeat(3000)}.b`,
      '/me/%E0%A4%A',
      '/me',
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(403);
      expectPrivateHeaders(res);
      const text = textOf(await res.text());
      expect(text).toContain('This link is not valid');
      expect(text).not.toContain('Liddell');
    }
  });

  it('answers a client that asks too often with a 429 page and Retry-After, before looking at the link', async () => {
    const limited = await startTestApp(T0, { rateLimitPerIp: { rate: 1, burst: 2 } });
    try {
      const statuses: number[] = [];
      let last: Response | null = null;
      for (let i = 0; i < 3; i++) statuses.push((last = await limited.app.request('/me/nonsense')).status);
      expect(statuses).toEqual([403, 403, 429]);
      expect(last!.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(last!.headers.get('content-type')).toMatch(/^text\/html/);
      expectPrivateHeaders(last!);
      expect(textOf(await last!.text())).toContain('Too many requests');
    } finally {
      await limited.close();
    }
  });

  it('stops opening the page once the site secret is rotated', async () => {
    const other = await t.sites.create({ name: 'Rotating shop', origins: [], settings: { requireUserHash: false } });
    const link = `/me/${signSelfServiceLink({ site: other, userId: 'kim', expiresAt: new Date(T0 + DAY) })}`;
    expect((await get(link)).status).toBe(200);
    await t.sites.update(other.id, { rotateSecret: true });
    expect((await get(link)).status).toBe(403);
  });
});

/** WCAG contrast ratio of two sRGB colours. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
