import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/server.js';
import { userHashOf } from '../identity/verify.js';

const ORIGIN = 'https://shop.example.com';
let t: TestServer;
let n = 0;
const mid = () => `msg-${process.pid}-${++n}`;

const page = (extra: Record<string, unknown> = {}) => ({
  type: 'page',
  messageId: mid(),
  anonymousId: 'anon-1',
  name: 'Home',
  context: {
    page: { url: `${ORIGIN}/trips?utm_source=newsletter&utm_medium=email&utm_campaign=spring`, referrer: 'https://www.google.com/search?q=thailand+family+holiday', title: 'Trips' },
    userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  },
  ...extra,
});
const track = (extra: Record<string, unknown> = {}) => ({ type: 'track', messageId: mid(), anonymousId: 'anon-1', event: 'Clicked', ...extra });

async function eventsOf(query: string) {
  const res = await t.api('GET', `/api/events?site=${t.site.id}&limit=500&${query}`);
  expect(res.status).toBe(200);
  return res.body.events as Array<Record<string, any>>;
}

async function stored(messageId: string) {
  const all = await eventsOf('');
  return all.filter((e) => e.messageId === messageId);
}

beforeAll(async () => {
  t = await startTestServer({ origins: [ORIGIN] });
});
afterAll(() => t.stop());

describe('POST /v1/batch', () => {
  it('stores a batch and answers 200 only with success', async () => {
    const a = page();
    const b = track({ properties: { plan: 'pro', price: 9.5 } });
    const res = await t.send('/v1/batch', { batch: [a, b], sentAt: new Date().toISOString() });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true });
    const [pageEvent] = await stored(a.messageId);
    expect(pageEvent).toMatchObject({ type: 'page', name: 'Home', anonymousId: 'anon-1' });
    const [trackEvent] = await stored(b.messageId);
    expect(trackEvent).toMatchObject({ type: 'track', event: 'Clicked', properties: { plan: 'pro', price: 9.5 } });
  });

  it('enriches at ingest: device, truncated IP, referral with keyword, campaign', async () => {
    const a = page();
    expect((await t.send('/v1/batch', { batch: [a] })).status).toBe(200);
    const [event] = await stored(a.messageId);
    expect(event.enrichment).toMatchObject({
      ip: '127.0.0.0',
      device: { type: 'mobile', os: 'iOS', browser: 'Mobile Safari' },
      campaign: { source: 'newsletter', medium: 'email', name: 'spring' },
      page: { path: '/trips', title: 'Trips' },
      referral: { medium: 'email', source: 'newsletter', campaign: 'spring' },
    });
    expect(Date.parse(event.receivedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('classifies an organic search referral and its keyword', async () => {
    const a = page({ context: { page: { url: `${ORIGIN}/`, referrer: 'https://www.bing.com/search?q=argentina+backpacking' } } });
    await t.send('/v1/batch', { batch: [a] });
    const [event] = await stored(a.messageId);
    expect(event.enrichment.referral).toMatchObject({ medium: 'search', source: 'Bing', term: 'argentina backpacking' });
  });

  it('marks a visit with a click id as paid', async () => {
    const a = page({ context: { page: { url: `${ORIGIN}/?gclid=abc123`, referrer: 'https://www.google.com/' } } });
    await t.send('/v1/batch', { batch: [a] });
    const [event] = await stored(a.messageId);
    expect(event.enrichment.referral).toMatchObject({ medium: 'paid', source: 'Google' });
    expect(event.enrichment.campaign).toMatchObject({ gclid: 'abc123' });
  });

  it('keeps the valid rest and reports each invalid message by index', async () => {
    const good1 = track();
    const good2 = track();
    const res = await t.send('/v1/batch', { batch: [good1, { type: 'track', anonymousId: 'x' }, good2, 'nope'] });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ success: true, accepted: 2 });
    expect(body.rejected).toEqual([
      { index: 1, code: 'invalid', field: 'event', message: 'event is required' },
      { index: 3, code: 'invalid', message: 'a message must be a JSON object' },
    ]);
    expect(await stored(good1.messageId)).toHaveLength(1);
    expect(await stored(good2.messageId)).toHaveLength(1);
  });

  it('answers 400 with the reasons when no message is valid', async () => {
    const res = await t.send('/v1/batch', { batch: [{ type: 'nope' }, { type: 'track' }] });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toBe('no valid message in the batch');
    expect(body.details).toHaveLength(2);
  });

  it('stores a retried batch once (messageId is the idempotency key)', async () => {
    const batch = [track(), track()];
    for (let i = 0; i < 3; i++) expect((await t.send('/v1/batch', { batch })).status).toBe(200);
    expect(await stored(batch[0].messageId)).toHaveLength(1);
    expect(await stored(batch[1].messageId)).toHaveLength(1);
  });

  it('stores a messageId repeated inside one batch once, with a warning', async () => {
    const m = track();
    const res = await t.send('/v1/batch', { batch: [m, { ...m, event: 'Other' }] });
    const body = await res.json();
    expect(body.warnings).toEqual([expect.objectContaining({ index: 1, code: 'duplicate', field: 'messageId' })]);
    const events = await stored(m.messageId);
    expect(events).toHaveLength(1);
    expect(events[0].event).toBe('Clicked');
  });

  it('gives messages without messageId a content id, so an exact retry is stored once', async () => {
    const m = { type: 'track', anonymousId: 'no-id-visitor', event: 'Retried', timestamp: '2026-11-01T10:00:00.000Z' };
    await t.send('/v1/batch', { batch: [m] });
    await t.send('/v1/batch', { batch: [m] });
    const events = (await eventsOf('anonymousId=no-id-visitor')).filter((e) => e.event === 'Retried');
    expect(events).toHaveLength(1);
    expect(events[0].messageId).toMatch(/^auto-/);
  });

  it('corrects clock skew from sentAt', async () => {
    const clientNow = Date.now() - 3_600_000; // the client's clock is an hour behind
    const m = track({ timestamp: new Date(clientNow - 10_000).toISOString() });
    await t.send('/v1/batch', { batch: [m], sentAt: new Date(clientNow).toISOString() });
    const [event] = await stored(m.messageId);
    const received = Date.parse(event.receivedAt);
    expect(received - Date.parse(event.timestamp)).toBeGreaterThanOrEqual(9_000);
    expect(received - Date.parse(event.timestamp)).toBeLessThan(12_000);
  });

  it('replaces an absurd timestamp by receivedAt with a warning, keeping the message', async () => {
    for (const timestamp of ['9999-12-31T23:59:59Z', '1970-01-01T00:00:00Z']) {
      const m = track({ timestamp });
      const body = await (await t.send('/v1/batch', { batch: [m] })).json();
      expect(body.warnings[0]).toMatchObject({ code: 'timestamp_corrected', field: 'timestamp' });
      const [event] = await stored(m.messageId);
      expect(event.timestamp).toBe(event.receivedAt);
      expect(event.extra).toEqual({});
    }
  });

  it('keeps unknown extra fields', async () => {
    const m = track({ integrations: { All: false }, customField: { nested: [1, 2] } });
    await t.send('/v1/batch', { batch: [m] });
    const [event] = await stored(m.messageId);
    expect(event.extra).toEqual({ integrations: { All: false }, customField: { nested: [1, 2] } });
  });

  it('applies a batch-level context to each message', async () => {
    const m = track();
    await t.send('/v1/batch', { batch: [m], context: { locale: 'fr-FR' } });
    const [event] = await stored(m.messageId);
    expect(event.context).toMatchObject({ locale: 'fr-FR' });
  });
});

describe('single-message endpoints', () => {
  it("accepts the short paths of Segment's browser library, /v1/b included", async () => {
    const paths = { t: track(), p: page(), i: { type: 'identify', messageId: mid(), anonymousId: 'anon-1', traits: { plan: 'pro' } }, g: { type: 'group', messageId: mid(), anonymousId: 'anon-1', groupId: 'g1' }, s: { type: 'screen', messageId: mid(), anonymousId: 'anon-1', name: 'Home' } };
    for (const [short, message] of Object.entries(paths)) {
      const res = await t.send(`/v1/${short}`, message);
      expect(res.status, short).toBe(200);
      expect(await stored(message.messageId as string)).toHaveLength(1);
    }
    const mismatch = await t.send('/v1/t', page());
    expect(mismatch.status).toBe(400);
    const batched = track();
    expect((await t.send('/v1/b', { batch: [batched] })).status).toBe(200);
    expect(await stored(batched.messageId)).toHaveLength(1);
    const alias = { type: 'alias', messageId: mid(), anonymousId: 'short-anon', previousId: 'short-anon', userId: 'short-user' };
    expect((await t.send('/v1/a', alias)).status).toBe(200);
  });

  it.each([
    ['track', { event: 'Product Viewed', properties: { sku: 'T-1' } }],
    ['page', { name: 'Trips' }],
    ['screen', { name: 'Home' }],
    ['identify', { userId: 'single-user', traits: { plan: 'gold' } }],
    ['alias', { userId: 'single-user-2', previousId: 'single-user' }],
    ['group', { userId: 'single-user-2', groupId: 'acme' }],
  ])('POST /v1/%s', async (type, fields) => {
    const m = { messageId: mid(), anonymousId: 'single-anon', ...fields };
    const res = await t.send(`/v1/${type}`, m);
    expect(res.status).toBe(200);
    const [event] = await stored(m.messageId);
    expect(event.type).toBe(type);
  });

  it('rejects a body whose type contradicts the endpoint', async () => {
    const res = await t.send('/v1/track', { type: 'page', anonymousId: 'x', event: 'y' });
    expect(res.status).toBe(400);
    expect((await res.json()).details[0]).toMatchObject({ field: 'type' });
  });

  it('answers 404 in JSON for an unknown message type', async () => {
    const res = await t.send('/v1/purchase', { anonymousId: 'x' });
    expect(res.status).toBe(404);
    expect((await res.json()).error).toContain('/v1/purchase');
  });
});

describe('authentication', () => {
  const noAuth = { authorization: '' };

  it('accepts the write key in the body of a text/plain request (sendBeacon)', async () => {
    const m = track();
    const res = await t.send('/v1/batch', JSON.stringify({ batch: [m], writeKey: t.site.writeKey }), {
      raw: true,
      headers: { ...noAuth, 'content-type': 'text/plain;charset=UTF-8' },
    });
    expect(res.status).toBe(200);
    expect(await stored(m.messageId)).toHaveLength(1);
  });

  it('answers 401 for a missing or unknown key', async () => {
    const missing = await t.send('/v1/batch', { batch: [track()] }, { headers: noAuth });
    expect(missing.status).toBe(401);
    expect((await missing.json()).error).toMatch(/missing write key/);
    const wrongBody = await t.send('/v1/batch', { batch: [track()], writeKey: 'wk_nope' }, { headers: noAuth });
    expect(wrongBody.status).toBe(401);
    const wrongBasic = await t.send('/v1/batch', { batch: [track()] }, { headers: { authorization: `Basic ${Buffer.from('wk_nope:').toString('base64')}` } });
    expect(wrongBasic.status).toBe(401);
    const wrongSecret = await t.send('/v1/batch', { batch: [track()] }, { headers: { authorization: 'Bearer sk_nope' } });
    expect(wrongSecret.status).toBe(401);
    const odd = await t.send('/v1/batch', { batch: [track()] }, { headers: { authorization: 'Digest x' } });
    expect(odd.status).toBe(401);
  });

  it('trusts server-side calls made with the secret: their context.ip is used', async () => {
    const m = track({ context: { ip: '198.51.100.77' } });
    const res = await t.send('/v1/batch', { batch: [m] }, { headers: { authorization: `Bearer ${t.site.secret}` } });
    expect(res.status).toBe(200);
    const [event] = await stored(m.messageId);
    expect(event.enrichment.ip).toBe('198.51.100.0');
  });

  it('keeps the full IP, normalized, for a site that asks for it', async () => {
    const { body: site } = await t.api('POST', '/api/sites', { name: 'Full IP', storeFullIp: true });
    const m = track({ context: { ip: '::FFFF:198.51.100.77' } });
    const res = await t.send('/v1/batch', { batch: [m] }, { headers: { authorization: `Bearer ${site.secret}` } });
    expect(res.status).toBe(200);
    const events = (await t.api('GET', `/api/events?site=${site.id}`)).body.events;
    expect(events.find((e: any) => e.messageId === m.messageId).enrichment.ip).toBe('198.51.100.77');
  });

  it('ignores context.ip from browsers and X-Forwarded-For without trustProxy', async () => {
    const m = track({ context: { ip: '198.51.100.77' } });
    await t.send('/v1/batch', { batch: [m] }, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    const [event] = await stored(m.messageId);
    expect(event.enrichment.ip).toBe('127.0.0.0');
  });
});

describe('bodies as Node clients send them', () => {
  const post = (body: Uint8Array | string, headers: Record<string, string>) =>
    fetch(`${t.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${t.site.writeKey}:`).toString('base64')}`, ...headers },
      body,
    });

  it('inflates gzip and deflate bodies, and reads JSON labelled as a form', async () => {
    const a = track();
    const res = await post(gzipSync(JSON.stringify({ batch: [a] })), { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(await stored(a.messageId)).toHaveLength(1);
    const b = track();
    expect((await post(deflateSync(JSON.stringify({ batch: [b] })), { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'deflate' })).status).toBe(200);
    expect(await stored(b.messageId)).toHaveLength(1);
  });

  it('applies the size limit after inflating: a zip bomb is a 413', async () => {
    const bomb = gzipSync(Buffer.from(`{"batch":[${'0,'.repeat(20_000_000)}0]}`));
    expect(bomb.length).toBeLessThan(100_000);
    const res = await post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
  });

  it('reads raw deflate sent as deflate, and an empty Content-Encoding as none', async () => {
    const a = track();
    expect((await post(deflateRawSync(JSON.stringify({ batch: [a] })), { 'content-type': 'application/json', 'content-encoding': 'deflate' })).status).toBe(200);
    expect(await stored(a.messageId)).toHaveLength(1);
    const b = track();
    expect((await post(JSON.stringify({ batch: [b] }), { 'content-type': 'application/json', 'content-encoding': '' })).status).toBe(200);
    expect(await stored(b.messageId)).toHaveLength(1);
  });

  it('answers 400 for corrupt gzip and 415 for an encoding it does not know', async () => {
    expect((await post(Buffer.from('not gzip at all'), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status).toBe(400);
    const res = await post(JSON.stringify({ batch: [track()] }), { 'content-type': 'application/json', 'content-encoding': 'br' });
    expect(res.status).toBe(415);
    expect((await res.json()).error).toMatch(/content encoding br/);
    expect((await post('a=1', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(400);
  });
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin with that origin, never *', async () => {
    const res = await fetch(`${t.url}/v1/batch`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(res.headers.get('vary')).toBe('Origin');
  });

  it("allows the request headers that Segment's and RudderStack's browser SDKs send", async () => {
    const res = await fetch(`${t.url}/v1/t`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-retry-count' },
    });
    expect(res.status).toBe(204);
    const allowed = res.headers.get('access-control-allow-headers')!.toLowerCase().split(/\s*,\s*/);
    for (const header of ['authorization', 'content-type', 'x-retry-count', 'anonymousid', 'sentat']) expect(allowed).toContain(header);
  });

  it("allows the headers of RudderStack's retried and recovered requests, whose preflight must not fail", async () => {
    // What @rudderstack/analytics-js 3.20+ adds to a retry (and 3.x before it, under older names).
    const retry = 'anonymousid,authorization,content-type,rsa-recovered,rsa-retry-attempt,rsa-retry-reason,rsa-since-first-attempt,rsa-since-last-attempt,sentat';
    const res = await fetch(`${t.url}/v1/batch`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': retry },
    });
    expect(res.status).toBe(204);
    const allowed = res.headers.get('access-control-allow-headers')!.toLowerCase().split(/\s*,\s*/);
    for (const header of [...retry.split(','), 'retry-attempt', 'retried-after', 'retried-after-first', 'reclaimed']) expect(allowed).toContain(header);
    expect(allowed).not.toContain('x-anything');
  });

  it('refuses a preflight from an unknown origin', async () => {
    const res = await fetch(`${t.url}/v1/batch`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows the site origin on the real request and refuses another site origin', async () => {
    const ok = await t.send('/v1/batch', { batch: [track()] }, { headers: { origin: ORIGIN } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const other = await t.createSite({ name: 'Other', origins: ['https://other.example'] });
    const res = await t.send('/v1/batch', { batch: [track()] }, { headers: { origin: 'https://other.example' } });
    expect(res.status).toBe(403);
    expect((await res.json()).error).toMatch(/not allowed/);
    expect(other.id).not.toBe(t.site.id);
  });

  it('lets the SDK read errors raised before the site is known', async () => {
    const res = await t.send('/v1/batch', '{not json', { raw: true, headers: { origin: ORIGIN, authorization: '' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  });
});

describe('size limits', () => {
  it('answers 413 in JSON for a batch over 500 KB', async () => {
    const batch = Array.from({ length: 20 }, () => track({ properties: { blob: 'x'.repeat(26 * 1024) } }));
    const res = await t.send('/v1/batch', { batch });
    expect(res.status).toBe(413);
    expect((await res.json()).error).toMatch(/500 KB/);
  });

  it('answers 413 for a single message over 32 KB', async () => {
    const res = await t.send('/v1/track', track({ properties: { blob: 'x'.repeat(33 * 1024) } }));
    expect(res.status).toBe(413);
  });

  it('rejects one oversized message of a batch and keeps the rest', async () => {
    const small = track();
    const res = await t.send('/v1/batch', { batch: [track({ properties: { blob: 'x'.repeat(40 * 1024) } }), small] });
    expect(res.status).toBe(200);
    expect((await res.json()).rejected[0]).toMatchObject({ index: 0, code: 'too_large' });
    expect(await stored(small.messageId)).toHaveLength(1);
  });

  it('answers 413 when a chunked body grows past the limit without a Content-Length', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (sent++ < 10) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${t.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${t.site.writeKey}:`).toString('base64')}` },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
  });
});

describe('bad input never reaches the core and never returns a 500', () => {
  const raw = (body: string | Uint8Array, contentType = 'application/json') =>
    t.send('/v1/batch', body, { raw: true, headers: { 'content-type': contentType } });

  it.each([
    ['malformed JSON', '{"batch": [', 400],
    ['an empty body', '', 400],
    ['null', 'null', 400],
    ['a number', '42', 400],
    ['an array', '[{"type":"track"}]', 400],
    ['batch that is not an array', '{"batch": {"type": "track"}}', 400],
    ['an empty batch', '{"batch": []}', 400],
    ['a bad batch sentAt', '{"batch": [{"type":"track","event":"x","anonymousId":"a"}], "sentAt": "soon"}', 400],
    ['a lone surrogate in an id', '{"batch": [{"type":"track","event":"x","anonymousId":"\\ud800"}]}', 400],
    ['a NUL in an event name', '{"batch": [{"type":"track","event":"a\\u0000b","anonymousId":"a"}]}', 400],
  ])('%s', async (_, body, status) => {
    const res = await raw(body);
    expect(res.status).toBe(status);
    const json = await res.json();
    expect(typeof json.error).toBe('string');
  });

  it('refuses bytes that are not UTF-8', async () => {
    const res = await raw(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/UTF-8/);
  });

  it('answers 400 for a real form body, and 415 for a type that is not JSON or text', async () => {
    const res = await raw('batch=1', 'application/x-www-form-urlencoded');
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/not valid JSON/);
    expect((await raw('<batch/>', 'application/xml')).status).toBe(415);
  });

  it('stores SQL-looking ids and free text verbatim', async () => {
    const id = `x'); DROP TABLE events; -- ${mid()}`;
    const m = track({ anonymousId: id, properties: { q: "' OR 1=1 --", nul: 'a\u0000b', lone: 'x\ud800y' } });
    expect((await t.send('/v1/batch', { batch: [m] })).status).toBe(200);
    const [event] = await eventsOf(`anonymousId=${encodeURIComponent(id)}`);
    expect(event.anonymousId).toBe(id);
    expect(event.properties).toEqual({ q: "' OR 1=1 --", nul: 'a\u0000b', lone: 'x\ud800y' });
  });

  it('drops prototype-pollution keys and keeps the message', async () => {
    const m = track();
    const body = `{"batch":[${JSON.stringify(m).slice(0, -1)},"properties":{"__proto__":{"polluted":true},"ok":true}}]}`;
    const res = await raw(body);
    expect(res.status).toBe(200);
    expect((await res.json()).warnings[0]).toMatchObject({ code: 'field_dropped', field: 'properties.__proto__' });
    const [event] = await stored(m.messageId);
    expect(event.properties).toEqual({ ok: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects pathological nesting with a reason', async () => {
    const nested = '['.repeat(50_000) + ']'.repeat(50_000);
    const res = await raw(`{"batch":[{"type":"track","event":"x","anonymousId":"a","properties":{"n":${nested}}}]}`);
    expect(res.status).toBe(400);
    expect((await res.json()).details[0].message).toMatch(/nested/);
  });

  it('rejects huge strings past the message limit', async () => {
    const res = await t.send('/v1/batch', { batch: [track({ event: 'x'.repeat(100_000) })] });
    expect([400, 413]).toContain(res.status);
  });
});

describe('what senders send in the wild', () => {
  it('keeps an anonymous RudderStack message whose userId is "", with a warning', async () => {
    const m = track({ anonymousId: 'rudder-anon', userId: '', channel: 'web', rudderId: 'r-1' });
    const res = await t.send('/v1/batch', { batch: [m] });
    expect(res.status).toBe(200);
    expect((await res.json()).warnings).toEqual([
      { index: 0, code: 'empty_user_id', field: 'userId', message: 'userId is empty and was treated as absent' },
    ]);
    const [event] = await stored(m.messageId);
    expect(event).toMatchObject({ anonymousId: 'rudder-anon', userId: null });
    const single = await t.send('/v1/track', track({ anonymousId: '', userId: '' }));
    expect(single.status).toBe(400);
    expect((await single.json()).error).toBe('a message needs an anonymousId or a userId');
  });

  it('rejects an order amount no currency has, naming the field, and keeps the revenue', async () => {
    const order = (revenue: unknown) => track({ anonymousId: 'big-spender', event: 'Order Completed', properties: { revenue } });
    expect((await t.send('/v1/batch', { batch: [order(120)] })).status).toBe(200);
    const res = await t.send('/v1/batch', { batch: [order(1e307), order(30.5)] });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.accepted).toBe(1);
    expect(body.rejected).toEqual([expect.objectContaining({ index: 0, code: 'invalid', field: 'properties.revenue' })]);
    expect(body.rejected[0].message).toContain('properties.revenue');
    const { body: found } = await t.api('GET', `/api/profiles?site=${t.site.id}&anonymousId=big-spender`);
    expect(found.profiles[0].computed).toMatchObject({ orders: 2, revenue: 150.5 });
  });
});

describe('identity verification', () => {
  it('treats an unverified user id as anonymous when the site requires it', async () => {
    const { body: site } = await t.api('POST', '/api/sites', { name: 'Verified', origins: [], requireUserHash: true });
    const basic = `Basic ${Buffer.from(`${site.writeKey}:`).toString('base64')}`;
    const unverified = { type: 'identify', messageId: mid(), anonymousId: 'v-anon', userId: 'victim', traits: { vip: true } };
    const res = await t.send('/v1/batch', { batch: [unverified] }, { headers: { authorization: basic } });
    expect(res.status).toBe(200);
    expect((await res.json()).warnings[0]).toMatchObject({ code: 'unverified_user', field: 'context.userHash' });
    const verified = {
      type: 'identify',
      messageId: mid(),
      anonymousId: 'v-anon-2',
      userId: 'alice',
      context: { userHash: userHashOf(site.secret, 'alice') },
    };
    const ok = await t.send('/v1/batch', { batch: [verified] }, { headers: { authorization: basic } });
    expect(await ok.json()).toEqual({ success: true });
    const events = (await t.api('GET', `/api/events?site=${site.id}`)).body.events;
    expect(events.find((e: any) => e.messageId === unverified.messageId).userId).toBeNull();
    expect(events.find((e: any) => e.messageId === verified.messageId).userId).toBe('alice');
    const noFallback = await t.send('/v1/identify', { userId: 'victim' }, { headers: { authorization: basic } });
    expect(noFallback.status).toBe(400);
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After past the per-IP limit', async () => {
    const limited = await startTestServer({ rateLimitPerIp: { rate: 1, burst: 2 } });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 4; i++) {
        const res = await limited.send('/v1/batch', { batch: [track()] });
        statuses.push(res.status);
        if (res.status === 429) retryAfter = res.headers.get('retry-after');
      }
      expect(statuses.slice(0, 2)).toEqual([200, 200]);
      expect(statuses).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.stop();
    }
  });

  it('answers 429 past the per-site limit', async () => {
    const limited = await startTestServer({ rateLimitPerSite: { rate: 1, burst: 1 } });
    try {
      expect((await limited.send('/v1/batch', { batch: [track()] })).status).toBe(200);
      const res = await limited.send('/v1/batch', { batch: [track()] });
      expect(res.status).toBe(429);
      expect((await res.json()).error).toMatch(/this site/);
    } finally {
      await limited.stop();
    }
  });
});

describe('blocked identifier values', () => {
  it('keep visitors who send userId "undefined" apart, with a warning, and follow the site list', async () => {
    const send = (anonymousId: string, userId: string) => t.send('/v1/identify', { anonymousId, userId, messageId: mid(), traits: { plan: anonymousId } });
    const res = await send('blocked-a', 'undefined');
    expect(await res.json()).toMatchObject({ success: true, warnings: [{ index: 0, code: 'blocked_id', field: 'userId' }] });
    await send('blocked-b', 'undefined');
    const a = await t.api('GET', `/api/profiles?site=${t.site.id}&anonymousId=blocked-a`);
    const b = await t.api('GET', `/api/profiles?site=${t.site.id}&anonymousId=blocked-b`);
    expect(a.body.profiles).toHaveLength(1);
    expect(b.body.profiles).toHaveLength(1);
    expect(a.body.profiles[0].id).not.toBe(b.body.profiles[0].id);
    expect(a.body.profiles[0].userId).toBeNull();

    const patched = await t.api('PATCH', `/api/sites/${t.site.id}`, { blockedIds: ['undefined', 'CHANGEME'] });
    expect(patched.body.blockedIds).toEqual(['undefined', 'CHANGEME']);
    expect(await (await send('blocked-c', 'changeme')).json()).toMatchObject({ warnings: [{ code: 'blocked_id' }] });
    expect((await t.api('PATCH', `/api/sites/${t.site.id}`, { blockedIds: ['ok', ''] })).body.details[0].field).toBe('blockedIds[1]');
    expect((await t.api('PATCH', `/api/sites/${t.site.id}`, { blockedIds: null })).body.blockedIds).toContain('[object object]');
  });
});
