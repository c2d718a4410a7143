import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, PROXY_HEADER, proxySignedText } from '@rapport/protocol';
import { startTestApp, type TestApp } from '../test-support/app.js';
import { userHashOf } from '../identity/verify.js';
import { StoreUnavailableError } from '../store/store.js';
import type { Site } from '../store/types.js';
import { directIngester, type Ingester } from './ingester.js';
import { GIF } from './hit.js';

// The tracking pixel, GET /v1/p.gif and Segment's /v1/pixel/{type}?data=, over the store under
// test, on the app's clock: what it stores, and that every answer is the GIF.

const T0 = Date.UTC(2026, 10, 2, 9);
const DAY = 86_400_000;
const ORIGIN = 'https://shop.example';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
let t: TestApp;
let strict: Site;
let n = 0;
/** What the app ingests through: the store's pipeline, or a failure a test puts in its place. */
const ingest: { via: Ingester['ingest'] | null } = { via: null };

beforeAll(async () => {
  t = await startTestApp(T0, { ingester: { ingest: (...args) => ingest.via!(...args), close: async () => {} } });
  ingest.via = directIngester(t.store).ingest;
  await t.api('PATCH', `/api/sites/${t.site.id}`, { origins: [ORIGIN] });
  strict = await t.sites.create({ name: 'Strict site', origins: [], settings: { requireUserHash: true } });
});
afterAll(() => t.close());

/** A browser's image request from `ip`. */
async function pixel(query: string | URLSearchParams | Record<string, string>, init: { headers?: Record<string, string>; ip?: string; path?: string } = {}) {
  // The clock moves on: two equal hits in one millisecond are one message (collect's default ids).
  t.clock.now += 1;
  const search = typeof query === 'string' ? query : new URLSearchParams(query as Record<string, string>).toString();
  const response = await t.app.request(
    `${init.path ?? '/v1/p.gif'}?${search}`,
    { headers: { 'user-agent': CHROME, ...init.headers } },
    { incoming: { socket: { remoteAddress: init.ip ?? '203.0.113.7' } } },
  );
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, body, error: response.headers.get('x-rapport-error') };
}

async function events(query: string, site = t.site) {
  const res = await t.api('GET', `/api/events?site=${site.id}&limit=500&${query}`);
  expect(res.status).toBe(200);
  return res.body.events as Array<Record<string, any>>;
}

const expectGif = (res: { headers: Headers; body: Buffer }) => {
  expect(res.headers.get('content-type')).toBe('image/gif');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.body.equals(GIF)).toBe(true);
};
const id = (prefix: string) => `${prefix}-${++n}`;

describe('GET /v1/p.gif', () => {
  it('records a page view with its url and referrer, enriched like the collect API', async () => {
    const a = id('page');
    const res = await pixel({
      k: t.site.writeKey,
      a,
      url: `${ORIGIN}/trips/thailand?utm_source=newsletter&utm_medium=email&utm_campaign=spring`,
      ref: 'https://www.google.com/search?q=thailand+family',
    });
    expect(res.status).toBe(200);
    expectGif(res);
    expect(res.error).toBeNull();
    expect(GIF.subarray(0, 6).toString()).toBe('GIF89a');
    const [event] = await events(`anonymousId=${a}`);
    expect(event).toMatchObject({
      type: 'page',
      anonymousId: a,
      userId: null,
      trust: 'untrusted',
      context: { source: 'pixel', page: { url: `${ORIGIN}/trips/thailand?utm_source=newsletter&utm_medium=email&utm_campaign=spring` } },
      enrichment: {
        ip: '203.0.113.0',
        device: { type: 'desktop', browser: 'Chrome' },
        page: { path: '/trips/thailand' },
        campaign: { source: 'newsletter', medium: 'email', name: 'spring' },
      },
    });
  });

  it('takes the page url from the Referer header when the query has none', async () => {
    const a = id('referer');
    expect((await pixel({ k: t.site.writeKey, a }, { headers: { referer: `${ORIGIN}/noscript` } })).status).toBe(200);
    const [event] = await events(`anonymousId=${a}`);
    expect(event.enrichment.page).toMatchObject({ url: `${ORIGIN}/noscript`, path: '/noscript' });
  });

  it('records a track with its properties when the query names an event', async () => {
    const a = id('track');
    const res = await pixel({ k: t.site.writeKey, a, e: 'Email Opened', p: JSON.stringify({ subject: 'Spring', issue: 7 }) });
    expect(res.status).toBe(200);
    const [event] = await events(`anonymousId=${a}`);
    expect(event).toMatchObject({ type: 'track', event: 'Email Opened', properties: { subject: 'Spring', issue: 7 } });
    // A track is not a page view of wherever the image sat.
    expect(event.enrichment.page).toBeNull();
  });

  it('gives a hit without any id the device’s cookieless id: one profile per device and day', async () => {
    const query = { k: t.site.writeKey, e: 'Newsletter Opened' };
    const ua = { 'user-agent': `${CHROME} cookieless-test` };
    for (let i = 0; i < 3; i++) expect((await pixel(query, { headers: ua, ip: '198.51.100.20' })).status).toBe(200);
    // Another address of the same /24 is the same device to a cookieless id; another agent is not.
    expect((await pixel(query, { headers: ua, ip: '198.51.100.99' })).status).toBe(200);
    expect((await pixel(query, { headers: { 'user-agent': 'Thunderbird/115' }, ip: '198.51.100.20' })).status).toBe(200);
    const opened = (await events('type=track')).filter((e) => e.event === 'Newsletter Opened');
    expect(opened).toHaveLength(5);
    const ids = opened.map((e) => e.anonymousId as string);
    expect(ids.every((i) => i.startsWith('cl_'))).toBe(true);
    expect(new Set(ids).size).toBe(2);
    expect(new Set(opened.filter((e) => e.anonymousId === opened[4].anonymousId).map((e) => e.profileId)).size).toBe(1);
    // The next day's salt gives the device another id.
    t.clock.now += DAY;
    try {
      await pixel(query, { headers: ua, ip: '198.51.100.20' });
      const next = (await events('type=track')).filter((e) => e.event === 'Newsletter Opened');
      expect(ids).not.toContain(next[0].anonymousId);
    } finally {
      t.clock.now -= DAY;
    }
  });

  it('counts a user id only with its userHash, as the collect API does', async () => {
    const verified = await pixel({ k: strict.writeKey, a: id('v'), u: 'u-verified', h: userHashOf(strict.secret, 'u-verified'), e: 'Seen' });
    expect(verified.status).toBe(200);
    expect((await events('userId=u-verified', strict))[0]).toMatchObject({ userId: 'u-verified', trust: 'verified' });

    // With an anonymous id to fall back on, the hit is kept as anonymous, and the answer says so.
    const a = id('forged');
    const forged = await pixel({ k: strict.writeKey, a, u: 'u-victim', h: 'f'.repeat(64), e: 'Seen' });
    expect(forged.status).toBe(200);
    expect(forged.headers.get('x-rapport-warning')).toMatch(/^context\.userHash: userId has an invalid context\.userHash/);
    expect((await events(`anonymousId=${a}`, strict))[0]).toMatchObject({ userId: null, trust: 'untrusted' });
    expect(await events('userId=u-victim', strict)).toHaveLength(0);

    // Without one, nothing is stored, and the refusal names the query's field.
    const bare = await pixel({ k: strict.writeKey, u: 'u-victim', e: 'Seen' });
    expect(bare.status).toBe(400);
    expectGif(bare);
    expect(bare.error).toMatch(/^h: userId has no context\.userHash/);
    expect(await events('userId=u-victim', strict)).toHaveLength(0);
  });

  it('accepts Segment’s pixel form: data is base64 JSON of the message with its writeKey', async () => {
    const a = id('segment');
    const message = { writeKey: t.site.writeKey, anonymousId: a, event: 'Email Opened', properties: { subject: 'The Electric Daily ~~~>>>' } };
    const standard = Buffer.from(JSON.stringify(message)).toString('base64');
    expect(standard).toContain('+');
    // Unescaped in the URL, as people paste it: the + arrives as a space.
    expect((await pixel(`data=${standard}`)).status).toBe(200);
    const viaSegmentPath = await pixel(`data=${Buffer.from(JSON.stringify({ ...message, messageId: 'seg-2' })).toString('base64url')}`, { path: '/v1/pixel/track' });
    expect(viaSegmentPath.status, viaSegmentPath.error ?? '').toBe(200);
    const stored = await events(`anonymousId=${a}`);
    expect(stored).toHaveLength(2);
    for (const event of stored) expect(event).toMatchObject({ type: 'track', event: 'Email Opened', properties: { subject: 'The Electric Daily ~~~>>>' } });
    // The key is no part of what is stored.
    expect(JSON.stringify(stored)).not.toContain(t.site.writeKey);

    const identify = await pixel({ data: Buffer.from(JSON.stringify({ writeKey: t.site.writeKey, anonymousId: a, traits: { plan: 'pro' } })).toString('base64') }, { path: '/v1/pixel/identify' });
    expect(identify.status).toBe(200);
    expect((await events(`anonymousId=${a}&type=identify`))[0].traits).toEqual({ plan: 'pro' });
    // /v1/p.gif itself records page views and tracks only.
    const other = await pixel({ data: Buffer.from(JSON.stringify({ writeKey: t.site.writeKey, type: 'identify', anonymousId: a })).toString('base64') });
    expect(other.status).toBe(400);
    expect(other.error).toMatch(/^data\.type:/);
    const mismatch = await pixel({ data: Buffer.from(JSON.stringify({ writeKey: t.site.writeKey, type: 'page', anonymousId: a })).toString('base64') }, { path: '/v1/pixel/track' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.error).toMatch(/^data\.type: type "page" does not match/);
  });

  it('believes the address of the site’s own first-party proxy, signed with its secret', async () => {
    const a = id('proxied');
    const stamp = Math.floor(T0 / 1000);
    const s = createHmac('sha256', t.site.secret).update(proxySignedText('192.0.2.55', stamp, t.site.writeKey)).digest('base64url');
    const header = `ip=192.0.2.55; t=${stamp}; k=${t.site.writeKey}; s=${s}`;
    expect((await pixel({ k: t.site.writeKey, a }, { headers: { [PROXY_HEADER]: header }, ip: '10.0.0.2' })).status).toBe(200);
    expect((await events(`anonymousId=${a}`))[0].enrichment.ip).toBe('192.0.2.0');
    // Another site's proxy vouches for nothing here.
    const b = id('proxied');
    expect((await pixel({ k: strict.writeKey, a: b }, { headers: { [PROXY_HEADER]: header }, ip: '10.0.0.2' })).status).toBe(200);
    expect((await events(`anonymousId=${b}`, strict))[0].enrichment.ip).toBe('10.0.0.0');
  });

  it('answers bad input with the matching 4xx, the GIF, and X-Rapport-Error naming what was wrong', async () => {
    const k = t.site.writeKey;
    const cases: Array<[string, number, RegExp]> = [
      ['a=x', 401, /^k: the write key is required/],
      [`k=wk_nope&a=x`, 401, /^k: unknown write key$/],
      [`k=${k}&k=${k}&a=x`, 400, /^k: is given more than once$/],
      [`k=${k}&a=x&p=not-json`, 400, /^p: is not valid JSON$/],
      [`k=${k}&a=x&p=${encodeURIComponent('[1,2]')}`, 400, /^p: must be a JSON object$/],
      [`k=${k}&a=x&e=${'E'.repeat(300)}`, 400, /^e: /],
      [`k=${k}&a=${'A'.repeat(300)}`, 400, /^a: /],
      [`k=${k}&e=Order&a=x&p=${encodeURIComponent('{"revenue":1e20}')}`, 400, /^p\.revenue: /],
      [`k=${k}&data=%%%`, 400, /^data: is not base64$/],
      [`k=${k}&data=${Buffer.from('[1]').toString('base64')}`, 400, /^data: must be a JSON object$/],
      [`data=${Buffer.from(JSON.stringify({ writeKey: k, anonymousId: 'x' })).toString('base64')}&e=Mixed`, 400, /^e: give either data or the short fields/],
      [`k=${k}&a=x&url=${'u'.repeat(MAX_MESSAGE_BYTES)}`, 413, /^the query is larger than 32768 bytes/],
    ];
    for (const [query, status, error] of cases) {
      const res = await pixel(query);
      expect(res.status, query.slice(0, 80)).toBe(status);
      expectGif(res);
      expect(res.error, query.slice(0, 80)).toMatch(error);
    }
    expect((await events('type=track')).some((e) => e.anonymousId === 'x')).toBe(false);
  });

  it('needs no Origin (an image sends none), and refuses one that the site does not allow', async () => {
    expect((await pixel({ k: t.site.writeKey, a: id('o') })).status).toBe(200);
    expect((await pixel({ k: t.site.writeKey, a: id('o') }, { headers: { origin: ORIGIN } })).status).toBe(200);
    const foreign = await pixel({ k: t.site.writeKey, a: id('o') }, { headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    expectGif(foreign);
    expect(foreign.error).toMatch(/origin https:\/\/evil\.example is not allowed/);
  });

  it('answers 503 with the GIF when the store is away, and never a JSON body', async () => {
    const via = ingest.via;
    ingest.via = async () => {
      throw new StoreUnavailableError('connection refused');
    };
    try {
      const res = await pixel({ k: t.site.writeKey, a: id('down') });
      expect(res.status).toBe(503);
      expectGif(res);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(res.error).toMatch(/database is not answering/);
    } finally {
      ingest.via = via;
    }
  });
});

describe('GET /v1/p.gif limits', () => {
  it('answers 429 with Retry-After and the GIF past the per-IP and the per-site limits', async () => {
    const limited = await startTestApp(T0, { rateLimitPerIp: { rate: 1, burst: 2 }, rateLimitPerSite: { rate: 1, burst: 3 } });
    try {
      const hit = (ip: string) =>
        limited.app.request(`/v1/p.gif?k=${limited.site.writeKey}&a=limits`, {}, { incoming: { socket: { remoteAddress: ip } } });
      expect((await hit('203.0.113.1')).status).toBe(200);
      expect((await hit('203.0.113.1')).status).toBe(200);
      const perIp = await hit('203.0.113.1');
      expect(perIp.status).toBe(429);
      expect(perIp.headers.get('content-type')).toBe('image/gif');
      expect(perIp.headers.get('retry-after')).toBe('1');
      expect(perIp.headers.get('x-rapport-error')).toMatch(/too many requests from this IP address/);
      expect((await hit('203.0.113.2')).status).toBe(200);
      const perSite = await hit('203.0.113.3');
      expect(perSite.status).toBe(429);
      expect(perSite.headers.get('x-rapport-error')).toMatch(/too many requests from this site/);
    } finally {
      await limited.close();
    }
  });
});
