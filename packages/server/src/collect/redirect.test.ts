import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, redirectSignedText, type RedirectQuery } from '@rapport/protocol';
import { startTestApp, type TestApp } from '../test-support/app.js';
import { StoreUnavailableError } from '../store/store.js';
import type { Site } from '../store/types.js';
import { directIngester, type Ingester } from './ingester.js';
import { RECORD_WAIT_MS } from './hit.js';
import { redirectUrl, signRedirect } from './redirect.js';

// The signed click redirect, GET /v1/r, over the store under test: what a valid link records,
// and that no changed, unsigned or expired link, nor any target but an absolute http(s) URL,
// ever gets a Location.

const T0 = Date.UTC(2026, 10, 2, 9);
const NOW_S = Math.floor(T0 / 1000);
const PUBLIC = 'https://rapport.example.com';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
let t: TestApp;
let other: Site;
let n = 0;
const ingest: { via: Ingester['ingest'] | null } = { via: null };

beforeAll(async () => {
  t = await startTestApp(T0, { publicUrl: PUBLIC, ingester: { ingest: (...args) => ingest.via!(...args), close: async () => {} } });
  ingest.via = directIngester(t.store).ingest;
  other = await t.sites.create({ name: 'Other site', origins: [], settings: {} });
});
afterAll(() => t.close());

const local = (url: string) => url.replace(PUBLIC, '');
async function click(path: string, ip = '203.0.113.7') {
  t.clock.now += 1;
  const response = await t.app.request(local(path), { headers: { 'user-agent': CHROME } }, { incoming: { socket: { remoteAddress: ip } } });
  return { status: response.status, location: response.headers.get('location'), headers: response.headers, text: await response.text() };
}
const link = (query: Partial<RedirectQuery> = {}, secret = t.site.secret) =>
  redirectUrl(PUBLIC, secret, { k: t.site.writeKey, to: 'https://shop.example/trips?sort=price&x=1', ...query });
/** A signed link with one field of its query changed afterwards. */
const tampered = (url: string, field: string, value: string | null) => {
  const parsed = new URL(url);
  if (value === null) parsed.searchParams.delete(field);
  else parsed.searchParams.set(field, value);
  return parsed.toString();
};
async function eventsOf(query: string) {
  const res = await t.api('GET', `/api/events?site=${t.site.id}&limit=500&type=track&${query}`);
  return res.body.events as Array<Record<string, any>>;
}
const refused = (res: Awaited<ReturnType<typeof click>>, status: number, error: RegExp) => {
  expect(res.status).toBe(status);
  expect(res.location).toBeNull();
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(res.text).toContain('This link is not valid');
  expect(res.headers.get('x-rapport-error')).toMatch(error);
};
const id = (prefix: string) => `${prefix}-${++n}`;

describe('signRedirect', () => {
  it('is base64url(HMAC-SHA256(site secret, redirectSignedText(query))), the text both sides sign', () => {
    const query: RedirectQuery = { k: 'wk_1', to: 'https://shop.example/', u: 'u-42', p: '{"a":1}', x: '1800000000' };
    const expected = createHmac('sha256', 'sec_1').update(redirectSignedText(query)).digest('base64url');
    expect(signRedirect('sec_1', query)).toBe(expected);
    expect(expected).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const url = new URL(redirectUrl('https://r.example/', 'sec_1', query));
    expect(url.origin + url.pathname).toBe('https://r.example/v1/r');
    expect(Object.fromEntries(url.searchParams)).toEqual({ ...query, s: expected });
  });
});

describe('GET /v1/r', () => {
  it('records the click for the signed person as a trusted message, then answers 302 to the target', async () => {
    const u = id('user');
    const a = id('anon');
    const res = await click(link({ e: 'Offer Clicked', a, u, p: JSON.stringify({ offerId: 'off_1', slot: 'hero' }), x: String(NOW_S + 3600) }));
    expect(res.status).toBe(302);
    expect(res.location).toBe('https://shop.example/trips?sort=price&x=1');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const [event] = await eventsOf(`userId=${u}`);
    expect(event).toMatchObject({
      event: 'Offer Clicked',
      userId: u,
      anonymousId: a,
      trust: 'trusted',
      properties: { offerId: 'off_1', slot: 'hero', url: 'https://shop.example/trips?sort=price&x=1' },
      context: { source: 'redirect' },
      enrichment: { ip: '203.0.113.0', device: { browser: 'Chrome' } },
    });
  });

  it('records "Link Clicked" by default, and a link for no one on the device’s cookieless id', async () => {
    const a = id('default');
    expect((await click(link({ a }))).status).toBe(302);
    expect((await eventsOf(`anonymousId=${a}`))[0]).toMatchObject({ event: 'Link Clicked', properties: { url: 'https://shop.example/trips?sort=price&x=1' } });

    expect((await click(link({ e: 'Nobody Clicked' }), '198.51.100.3')).status).toBe(302);
    const [anonymous] = (await eventsOf('')).filter((e) => e.event === 'Nobody Clicked');
    expect(anonymous.anonymousId).toMatch(/^cl_/);
    expect(anonymous.userId).toBeNull();
    expect(anonymous.trust).toBe('untrusted');
  });

  it('refuses a link that is not signed, or whose signature does not match any of its fields', async () => {
    const signed = link({ e: 'Offer Clicked', a: 'anon-t', u: 'u-t', p: '{"offerId":"off_1"}', x: String(NOW_S + 3600) });
    refused(await click(tampered(signed, 's', null)), 403, /^s: the link is not signed$/);
    refused(await click(tampered(signed, 's', 'A'.repeat(43))), 403, /^s: the signature does not match/);
    refused(await click(tampered(signed, 's', 'short')), 403, /^s: the signature does not match/);
    const changes: Array<[string, string | null]> = [
      ['to', 'https://shop.example/trips?sort=price&x=2'],
      ['e', 'Order Completed'],
      ['a', 'anon-victim'],
      ['u', 'u-victim'],
      ['p', '{"offerId":"off_2"}'],
      ['x', String(NOW_S + 999_999)],
      // Dropped fields and added ones are changes too.
      ['e', null],
      ['u', null],
      ['x', null],
    ];
    for (const [field, value] of changes) refused(await click(tampered(signed, field, value)), 403, /^s: the signature does not match/);
    const bare = link({ to: 'https://shop.example/' });
    for (const [field, value] of [['e', 'Order Completed'], ['u', 'u-victim'], ['a', 'anon-victim'], ['p', '{}'], ['x', '9999999999']] as const) {
      refused(await click(tampered(bare, field, value)), 403, /^s: the signature does not match/);
    }
    // Another site's key with this site's signature: that site's secret did not sign it.
    refused(await click(tampered(signed, 'k', other.writeKey)), 403, /^s: the signature does not match/);
    // Signed with the write key, which is public, instead of the secret.
    refused(await click(link({ a: 'anon-t' }, t.site.writeKey)), 403, /^s: the signature does not match/);
    expect(await eventsOf('userId=u-victim')).toHaveLength(0);
    expect(await eventsOf('anonymousId=anon-victim')).toHaveLength(0);
    expect(await eventsOf('userId=u-t')).toHaveLength(0);
  });

  it('refuses an expired link', async () => {
    refused(await click(link({ a: 'anon-x', x: String(NOW_S - 1) })), 403, /^x: the link has expired$/);
    const res = await click(link({ a: 'anon-x', x: String(NOW_S) }));
    expect(res.text).toContain('It has expired.');
    refused(await click(link({ a: 'anon-x', x: 'tomorrow' })), 400, /^x: must be unix seconds$/);
    expect(await eventsOf('anonymousId=anon-x')).toHaveLength(0);
  });

  it('is never an open redirect: only a signed absolute http(s) target is followed', async () => {
    // Signed by the site, and still refused: nothing but an absolute http(s) URL leaves.
    for (const to of ['javascript:alert(document.cookie)', 'JAVASCRIPT:alert(1)', 'data:text/html,<script>alert(1)</script>', '//evil.example/', '/\\evil.example', 'https:evil.example', 'https:/evil.example', ' https://evil.example/', 'https:///evil.example', 'ftp://shop.example/', '/trips', 'shop.example']) {
      refused(await click(link({ to })), 400, /^to: must be an absolute http\(s\) URL$/);
    }
    // Unsigned, and a target swapped into a signed link, or given a second time.
    refused(await click(`/v1/r?k=${t.site.writeKey}&to=${encodeURIComponent('https://evil.example/')}`), 403, /^s: the link is not signed$/);
    refused(await click(tampered(link(), 'to', 'https://evil.example/')), 403, /^s: the signature does not match/);
    refused(await click(`${link()}&to=${encodeURIComponent('https://evil.example/')}`), 400, /^to: is given more than once$/);
    // What goes out is the URL as a browser reads it, so the Location holds no surprise.
    expect((await click(link({ to: 'https://shop.example/a b?q=ü' }))).location).toBe('https://shop.example/a%20b?q=%C3%BC');
  });

  it('answers other bad input with a 4xx page and no Location', async () => {
    refused(await click(`/v1/r?to=${encodeURIComponent('https://shop.example/')}&s=${'A'.repeat(43)}`), 400, /^k: the write key is required$/);
    refused(await click(`/v1/r?k=${t.site.writeKey}&s=${'A'.repeat(43)}`), 400, /^to: the target is required$/);
    refused(await click(link({ a: 'anon-k' }).replace(t.site.writeKey, 'wk_nope')), 401, /^k: unknown write key$/);
    refused(await click(link({ a: 'anon-p', p: '[1]' })), 400, /^p: must be a JSON object$/);
    refused(await click(link({ a: 'anon-p', p: '{oops' })), 400, /^p: is not valid JSON$/);
    refused(await click(link({ a: 'anon-big', p: JSON.stringify({ pad: 'x'.repeat(MAX_MESSAGE_BYTES) }) })), 413, /^the query is larger than 32768 bytes/);
    refused(await click('/v1/r?m=nonsense.token'), 403, /^m: is not a link of an email of this server$/);
  });

  it('still sends the visitor on when the click cannot be recorded, and logs it', async () => {
    const via = ingest.via;
    const logged = console.error;
    const errors: unknown[][] = [];
    console.error = (...args: unknown[]) => void errors.push(args);
    ingest.via = async () => {
      throw new StoreUnavailableError('connection refused');
    };
    try {
      const res = await click(link({ a: 'anon-down' }));
      expect(res.status).toBe(302);
      expect(res.location).toBe('https://shop.example/trips?sort=price&x=1');
      expect(String(errors[0]?.[0])).toMatch(/could not record the click of a signed redirect; the visitor was sent on/);

      // A store that hangs: the visitor waits RECORD_WAIT_MS at most.
      ingest.via = () => new Promise(() => {});
      const started = Date.now();
      const slow = await click(link({ a: 'anon-hang' }));
      expect(slow.status).toBe(302);
      expect(Date.now() - started).toBeLessThan(RECORD_WAIT_MS + 1500);
    } finally {
      ingest.via = via;
      console.error = logged;
    }
  });

  it('answers 429 past the per-IP limit, and past the site’s limit sends the visitor on unrecorded', async () => {
    const limited = await startTestApp(T0, { publicUrl: PUBLIC, rateLimitPerIp: { rate: 1, burst: 2 }, rateLimitPerSite: { rate: 1, burst: 2 } });
    try {
      const url = local(redirectUrl(PUBLIC, limited.site.secret, { k: limited.site.writeKey, to: 'https://shop.example/', a: 'anon-limit' }));
      const hit = (ip: string) => {
        limited.clock.now += 1;
        return limited.app.request(url, {}, { incoming: { socket: { remoteAddress: ip } } });
      };
      expect((await hit('203.0.113.1')).status).toBe(302);
      expect((await hit('203.0.113.1')).status).toBe(302);
      const perIp = await hit('203.0.113.1');
      expect(perIp.status).toBe(429);
      expect(perIp.headers.get('location')).toBeNull();
      expect(perIp.headers.get('retry-after')).toBe('1');
      const pastSite = await hit('203.0.113.2');
      expect(pastSite.status).toBe(302);
      expect(pastSite.headers.get('location')).toBe('https://shop.example/');
      const stored = await limited.store.listEvents({ siteId: limited.site.id, limit: 10 });
      expect(stored.items).toHaveLength(2);
    } finally {
      await limited.close();
    }
  });
});
