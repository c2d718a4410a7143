import { createHmac } from 'node:crypto';
import { redirectSignedText, type BatchRequest } from '@rapport/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRapport } from './client.js';
import { sendJson, startStub } from './test-stub.js';

const stubs: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});
const stub = async (...args: Parameters<typeof startStub>) => {
  const s = await startStub(...args);
  stubs.push(s);
  return s;
};

describe('decide', () => {
  it('asks /v1/decide with the write key, and returns the answer', async () => {
    const slots = { 'home-hero': { offerId: 'of-1', variant: 'offer', content: { title: 'Hi' } } };
    const s = await stub((_, res) => sendJson(res, 200, { slots }));
    const rapport = createRapport({ host: s.url + '/', writeKey: 'wk_1' });
    const answer = await rapport.decide({ anonymousId: 'a-1', slots: ['home-hero'], context: { page: { url: 'https://shop.example/' } } });
    expect(answer).toEqual({ slots });
    expect(s.received[0].url).toBe('/v1/decide');
    expect(JSON.parse(s.received[0].body)).toEqual({ slots: ['home-hero'], anonymousId: 'a-1', context: { page: { url: 'https://shop.example/' } }, writeKey: 'wk_1' });
    expect(s.received[0].headers.authorization).toBeUndefined();
  });

  it('with the secret, calls as the site (Bearer) and leaves the write key out', async () => {
    const s = await stub((_, res) => sendJson(res, 200, { slots: {} }));
    await createRapport({ host: s.url, writeKey: 'wk_1', secret: 'sk_1' }).decide({ userId: 'u-1', slots: ['a'] });
    expect(s.received[0].headers.authorization).toBe('Bearer sk_1');
    expect(JSON.parse(s.received[0].body)).toEqual({ slots: ['a'], userId: 'u-1' });
  });

  it('keeps the defaults, never throws, on a timeout, an error status, a bad answer or no server', async () => {
    const slow = await stub(() => {}); // never answers
    const failing = await stub((_, res) => sendJson(res, 503, { error: 'down' }));
    const odd = await stub((_, res) => sendJson(res, 200, { nope: true }));
    const errors: unknown[] = [];
    const onError = (error: unknown) => errors.push(error);
    const started = Date.now();
    expect(await createRapport({ host: slow.url, writeKey: 'wk', onError }).decide({ anonymousId: 'a', slots: ['x'] })).toEqual({ slots: {} });
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(2_000);
    expect(await createRapport({ host: failing.url, writeKey: 'wk', onError }).decide({ anonymousId: 'a', slots: ['x'] })).toEqual({ slots: {} });
    expect(await createRapport({ host: odd.url, writeKey: 'wk', onError }).decide({ anonymousId: 'a', slots: ['x'] })).toEqual({ slots: {} });
    expect(await createRapport({ host: 'http://127.0.0.1:1', writeKey: 'wk', onError, timeout: 1000 }).decide({ anonymousId: 'a', slots: ['x'] })).toEqual({ slots: {} });
    expect(errors).toHaveLength(4);
    expect(errors[1]).toMatchObject({ status: 503 });
  });
});

describe('track, page, identify and flush', () => {
  it('sends the Segment wire to /v1/batch, one messageId each, and flush() awaits delivery', async () => {
    const s = await stub((_, res) => sendJson(res, 200, { success: true }));
    const rapport = createRapport({ host: s.url, writeKey: 'wk_1', flushInterval: 0 });
    rapport.identify({ userId: 'u-1', traits: { plan: 'gold' } });
    rapport.track({ userId: 'u-1', event: 'Order Completed', properties: { revenue: 120 }, timestamp: new Date('2026-12-01T10:00:00Z') });
    rapport.page({ anonymousId: 'a-1', name: 'Home' });
    expect(s.received).toHaveLength(0);
    expect(await rapport.flush()).toEqual({ sent: 3, rejected: 0, failed: 0 });
    expect(s.received).toHaveLength(1);
    expect(s.received[0].headers.authorization).toBe(`Basic ${Buffer.from('wk_1:').toString('base64')}`);
    const body = JSON.parse(s.received[0].body) as BatchRequest;
    expect(body.batch.map((m) => m.type)).toEqual(['identify', 'track', 'page']);
    expect(body.batch[1]).toMatchObject({ event: 'Order Completed', userId: 'u-1', properties: { revenue: 120 }, timestamp: '2026-12-01T10:00:00.000Z', context: { library: { name: '@rapport/node' } } });
    expect(new Set(body.batch.map((m) => m.messageId)).size).toBe(3);
  });

  it('retries a lost answer with the same messageIds, honouring Retry-After', async () => {
    let calls = 0;
    const s = await stub((_, res) => (++calls === 1 ? sendJson(res, 503, { error: 'busy' }, { 'retry-after': '0.05' }) : sendJson(res, 200, {})));
    const rapport = createRapport({ host: s.url, writeKey: 'wk', flushInterval: 0 });
    rapport.track({ anonymousId: 'a', event: 'E' });
    expect(await rapport.flush()).toEqual({ sent: 1, rejected: 0, failed: 0 });
    const ids = s.received.map((r) => (JSON.parse(r.body) as BatchRequest).batch[0].messageId);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
  });

  it('gives up after its attempts, and does not retry what the server refused', async () => {
    const down = await stub((_, res) => sendJson(res, 500, { error: 'x' }, { 'retry-after': '0.01' }));
    const errors: unknown[] = [];
    const rapport = createRapport({ host: down.url, writeKey: 'wk', flushInterval: 0, attempts: 2, onError: (e) => errors.push(e) });
    rapport.track({ anonymousId: 'a', event: 'E' });
    expect(await rapport.flush()).toEqual({ sent: 0, rejected: 0, failed: 1 });
    expect(down.received).toHaveLength(2);

    const refusing = await stub((_, res) => sendJson(res, 400, { error: 'batch: not an array' }));
    const other = createRapport({ host: refusing.url, writeKey: 'wk', flushInterval: 0, onError: (e) => errors.push(e) });
    other.track({ anonymousId: 'a', event: 'E' });
    expect(await other.flush()).toEqual({ sent: 0, rejected: 1, failed: 0 });
    expect(refusing.received).toHaveLength(1);
    expect(errors).toHaveLength(2);
  });

  it('sends by itself after flushInterval and at flushAt; refuses a message without an id', async () => {
    const s = await stub((_, res) => sendJson(res, 200, {}));
    const errors: unknown[] = [];
    const rapport = createRapport({ host: s.url, writeKey: 'wk', flushInterval: 30, flushAt: 3, onError: (e) => errors.push(e) });
    rapport.track({ anonymousId: 'a', event: 'One' });
    await vi.waitFor(() => expect(s.received).toHaveLength(1));
    for (const event of ['A', 'B', 'C']) rapport.track({ anonymousId: 'a', event });
    await vi.waitFor(() => expect(s.received).toHaveLength(2));
    expect((JSON.parse(s.received[1].body) as BatchRequest).batch).toHaveLength(3);
    rapport.track({ event: 'Nobody' } as never);
    expect(errors).toHaveLength(1);
    await rapport.close();
  });
});

describe('signing', () => {
  it('makes the userHash the server checks, and signed redirect links', () => {
    const rapport = createRapport({ host: 'https://rapport.example.com', writeKey: 'wk_1', secret: 'sk_1' });
    expect(rapport.userHash('u-1')).toBe(createHmac('sha256', 'sk_1').update('u-1').digest('hex'));
    const link = new URL(rapport.redirectUrl({ to: 'https://shop.example/tours?x=1', userId: 'u-1', event: 'Newsletter Clicked', properties: { issue: 12 } }));
    expect(link.origin + link.pathname).toBe('https://rapport.example.com/v1/r');
    const q = Object.fromEntries(link.searchParams);
    expect(q).toMatchObject({ k: 'wk_1', to: 'https://shop.example/tours?x=1', u: 'u-1', e: 'Newsletter Clicked', p: '{"issue":12}' });
    const { s, ...rest } = q;
    expect(s).toBe(createHmac('sha256', 'sk_1').update(redirectSignedText(rest as never)).digest('base64url'));
  });

  it('refuses to sign without the secret, or a target that is not http(s)', () => {
    const open = createRapport({ host: 'https://rapport.example.com', writeKey: 'wk_1' });
    expect(() => open.userHash('u')).toThrow(/secret/);
    expect(() => open.redirectUrl({ to: 'https://shop.example/' })).toThrow(/secret/);
    const signed = createRapport({ host: 'https://rapport.example.com', writeKey: 'wk_1', secret: 's' });
    expect(() => signed.redirectUrl({ to: 'javascript:alert(1)' })).toThrow(/http/);
  });
});
