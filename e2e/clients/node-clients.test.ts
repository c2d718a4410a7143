// Server-side libraries of the Segment spec that nobody here wrote, with their default settings,
// against a real Rapport server: only the host and the write key are theirs to be told. A
// recording proxy sits in front of the server, to read its answers and to lose one on purpose.
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import { describe, expect, it } from 'vitest';
import type { CollectProxy } from '../support/collect-proxy';
import { eventually } from '../support/eventually';
import {
  clientServer, collectCalls, hasTypes, messagesOf, resentIds, serverRefusals, serverWarnings, storedProfile, TYPES, type StoredEvent,
} from './support';

// The server, and for each client a site of its own with a proxy in front of the server (`rapport.rig`).
const rapport = clientServer();

/** One call of each type, from a visitor who logs in, as a shop's backend would send them. */
const ids = (prefix: string) => ({
  anonymousId: `${prefix}-anon-1`,
  userId: `${prefix}-user-1`,
  email: `${prefix}@example.com`,
});

/** The checks every client must pass, whatever its wire format. */
function expectStoredOnce(stored: StoredEvent[], v: ReturnType<typeof ids>) {
  // Exactly one event per call, each message id once, whatever was retried.
  expect(stored.map((e) => e.type).sort()).toEqual([...TYPES].sort());
  expect(new Set(stored.map((e) => e.messageId)).size).toBe(stored.length);
  const of = (type: string) => stored.find((e) => e.type === type)!;

  expect(of('page')).toMatchObject({ name: 'Home', anonymousId: v.anonymousId, userId: null });
  expect(of('page').properties).toMatchObject({ path: '/', url: 'https://shop.example/' });
  expect(of('track')).toMatchObject({ event: 'Order Completed', anonymousId: v.anonymousId, userId: null });
  expect(of('track').properties).toMatchObject({ orderId: 'o-1', revenue: 42.5, currency: 'EUR' });
  expect(of('identify')).toMatchObject({ userId: v.userId, anonymousId: v.anonymousId });
  expect(of('identify').traits).toMatchObject({ email: v.email, name: 'Ada Lovelace' });
  expect(of('alias')).toMatchObject({ userId: v.userId });
  expect(of('alias').extra).toMatchObject({ previousId: v.anonymousId });
  expect(of('group')).toMatchObject({ userId: v.userId });
  expect(of('group').extra).toMatchObject({ groupId: 'acme' });
  expect(of('group').traits).toMatchObject({ name: 'Acme Corp', plan: 'enterprise' });
  // Event times are the client's (Segment sends timestamp, RudderStack originalTimestamp).
  for (const e of stored) expect(Math.abs(Date.parse(e.timestamp) - Date.now())).toBeLessThan(60_000);
  // The anonymous visit and the login are one person.
  expect(new Set(stored.map((e) => e.profileId)).size).toBe(1);
}

/** The person's profile: both ids, and the traits given at login. */
async function expectProfile(stored: StoredEvent[], v: ReturnType<typeof ids>) {
  const profile = await storedProfile(rapport.server, stored[0].profileId);
  expect(profile.identities).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ kind: 'anonymous', value: v.anonymousId }),
      expect.objectContaining({ kind: 'user', value: v.userId }),
    ]),
  );
  expect(profile.traits).toMatchObject({ email: v.email, name: 'Ada Lovelace' });
}

/**
 * What the server may say about these messages: nothing, except that an alias sent with the
 * public write key links no id it has not seen from the same sender (these libraries send alias
 * without an anonymousId); the alias is still stored.
 */
const ALIAS_REFUSED = /warning on alias message: alias_refused \(previousId\)/;

function expectWarnings(proxy: CollectProxy) {
  const warnings = serverWarnings(proxy.exchanges);
  expect.soft(warnings.filter((line) => !ALIAS_REFUSED.test(line)), 'warnings of the server').toEqual([]);
  expect(warnings.some((line) => ALIAS_REFUSED.test(line))).toBe(true);
}

describe('@segment/analytics-node, default settings', () => {
  it('stores page, track, identify, alias and group once each, the batch whose answer was lost included', async () => {
    const { site, proxy, events } = await rapport.rig('Segment Node');
    const v = ids('segnode');
    const errors: unknown[] = [];
    // Its defaults: POST /v1/batch, JSON, Basic auth, 15 events or 10 s per batch, retries.
    const analytics = new SegmentAnalytics({ writeKey: site.writeKey, host: proxy.url });
    analytics.on('error', (error) => errors.push(error));
    // The server stores the first batch, and the client never hears about it: it must retry.
    proxy.failNext('reset');

    analytics.page({ anonymousId: v.anonymousId, name: 'Home', properties: { path: '/', url: 'https://shop.example/' } });
    analytics.track({
      anonymousId: v.anonymousId,
      event: 'Order Completed',
      properties: { orderId: 'o-1', revenue: 42.5, currency: 'EUR' },
    });
    analytics.identify({ anonymousId: v.anonymousId, userId: v.userId, traits: { email: v.email, name: 'Ada Lovelace' } });
    analytics.alias({ previousId: v.anonymousId, userId: v.userId });
    analytics.group({ userId: v.userId, groupId: 'acme', traits: { name: 'Acme Corp', plan: 'enterprise' } });
    await analytics.closeAndFlush();

    expect(serverRefusals(proxy.exchanges), 'what the server refused').toEqual([]);
    expect(errors).toEqual([]);
    const calls = collectCalls(proxy.exchanges);
    expect(calls.map((c) => `${c.path} ${c.fault ?? 'answered'}`)).toEqual(['/v1/batch reset', '/v1/batch answered']);
    expect(calls[1].headers['x-retry-count']).toBe('1');
    // The retry carried the same messages, by id.
    expect([...resentIds(proxy.exchanges).keys()].sort()).toEqual(messagesOf(calls[0]).map((m) => m.messageId).sort());

    const stored = await eventually(events, hasTypes(TYPES));
    expectStoredOnce(stored, v);
    await expectProfile(stored, v);
    expect(stored.every((e) => e.context?.library?.name === '@segment/analytics-node')).toBe(true);
    expectWarnings(proxy);
  });
});

describe('@rudderstack/rudder-sdk-node, default settings', () => {
  it('stores page, track, identify, alias and group once each, gzipped, the request whose answer was lost included', async () => {
    const { site, proxy, events } = await rapport.rig('RudderStack Node');
    const v = ids('rudnode');
    const errors: unknown[] = [];
    // Its defaults: POST /v1/batch, gzip, Basic auth, the first event at once, then 20 events
    // or 10 s per batch, 3 retries (axios-retry).
    const client = new RudderAnalytics(site.writeKey, { dataPlaneUrl: proxy.url });
    proxy.failNext('reset');
    const done = (error?: unknown) => {
      if (error) errors.push(error);
    };

    client.page({ anonymousId: v.anonymousId, name: 'Home', properties: { path: '/', url: 'https://shop.example/' } }, done);
    client.track(
      { anonymousId: v.anonymousId, event: 'Order Completed', properties: { orderId: 'o-1', revenue: 42.5, currency: 'EUR' } },
      done,
    );
    client.identify({ anonymousId: v.anonymousId, userId: v.userId, traits: { email: v.email, name: 'Ada Lovelace' } }, done);
    client.alias({ previousId: v.anonymousId, userId: v.userId }, done);
    client.group({ userId: v.userId, groupId: 'acme', traits: { name: 'Acme Corp', plan: 'enterprise' } }, done);
    await client.flush().catch((error: unknown) => errors.push(error));

    expect(serverRefusals(proxy.exchanges), 'what the server refused').toEqual([]);
    const stored = await eventually(events, hasTypes(TYPES));
    expect(errors).toEqual([]);
    const calls = collectCalls(proxy.exchanges);
    // Gzipped JSON, labelled as a form (axios's default for a Buffer).
    for (const call of calls) {
      expect(call).toMatchObject({ path: '/v1/batch', headers: { 'content-encoding': 'gzip', 'content-type': 'application/x-www-form-urlencoded' } });
    }
    expect(calls[0].fault).toBe('reset');
    expect([...resentIds(proxy.exchanges).keys()]).toEqual(messagesOf(calls[0]).map((m) => m.messageId));

    expectStoredOnce(stored, v);
    await expectProfile(stored, v);
    expect(stored.every((e) => e.context?.library?.name === 'analytics-node')).toBe(true);
    expectWarnings(proxy);
  });
});
