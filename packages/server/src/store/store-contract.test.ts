import { SLOT_EVENTS } from '@rapport/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingest } from '../collect/pipeline.js';
import type { Offer, Segment } from '../decisions/types.js';
import { rebuildRollups } from '../reports/rebuild.js';
import { siteOverview } from '../reports/overview.js';
import { unpackRankings } from '../profiles/rankings.js';
import { uncountPerson } from '../reports/rollups.js';
import { ingestEvent, pageEvent } from '../test-support/events.js';
import { createTestSite, openTestStore, type TestStore } from '../test-support/store.js';
import { encodeCursor } from './cursor.js';
import { ConflictError, type Store } from './store.js';
import type { IngestEvent, Site } from './types.js';

// One suite, every store: RAPPORT_TEST_STORE=postgres runs it on PostgresStore (the vitest
// project `postgres`), anything else on SqliteStore. Everything goes through the public Store
// methods and the one ingest pipeline, so that both stores are held to the same answers.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 1, 12);

let t: TestStore;
let store: Store;
let site: Site;

beforeEach(async () => {
  t = await openTestStore();
  store = t.store;
  site = await createTestSite(store);
});
afterEach(async () => {
  await t.close();
});

const send = (...events: IngestEvent[]) => ingest(store, site, events);
const ev = ingestEvent;
const track = (anonymousId: string, name: string, at = T0, extra: Partial<IngestEvent> = {}) =>
  ev({ type: 'track', name, anonymousId, timestamp: at, receivedAt: at, ...extra });
const page = pageEvent;
const identify = (anonymousId: string | null, userId: string, at = T0, extra: Partial<IngestEvent> = {}) =>
  ev({ type: 'identify', name: null, anonymousId, userId, timestamp: at, receivedAt: at, ...extra });

const sorted = <T,>(rows: T[]) => [...rows].map((r) => JSON.stringify(r)).sort();

async function allEvents(siteId = site.id) {
  return (await store.listEvents({ siteId, limit: 1000 })).items;
}

describe(`Store contract (${process.env.RAPPORT_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite'})`, () => {
  describe('meta, sites, health', () => {
    it('keeps meta values', async () => {
      expect(await store.getMeta('k')).toBeNull();
      await store.setMeta('k', 'one');
      await store.setMeta('k', 'two');
      expect(await store.getMeta('k')).toBe('two');
    });

    it('sets a meta value only once, concurrent callers included, and all read the first', async () => {
      const stored = await Promise.all(['a', 'b', 'c', 'd'].map((v) => store.setMetaIfAbsent('once', v)));
      expect(new Set(stored).size).toBe(1);
      expect(await store.setMetaIfAbsent('once', 'later')).toBe(stored[0]);
      expect(await store.getMeta('once')).toBe(stored[0]);
    });

    it('deletes meta values by prefix, but the ones kept', async () => {
      for (const key of ['salt:1', 'salt:2', 'salt:3', 'salty', 'other']) await store.setMeta(key, 'v');
      expect(await store.deleteMeta('salt:', ['salt:3'])).toBe(2);
      expect(await store.getMeta('salt:1')).toBeNull();
      expect(await store.getMeta('salt:3')).toBe('v');
      expect(await store.getMeta('salty')).toBe('v');
      expect(await store.deleteMeta('nothing')).toBe(0);
    });

    it('answers health, and knows its kind and schema', async () => {
      expect(await store.health()).toBe(true);
      expect(['sqlite', 'postgres']).toContain(store.kind);
      expect(await store.schemaVersion()).toBeGreaterThan(0);
    });

    it('creates, lists and updates sites', async () => {
      const other = await createTestSite(store, { storeFullIp: true }, 'Other');
      expect((await store.listSites()).map((s) => s.id)).toEqual([site.id, other.id]);
      expect(other.settings).toMatchObject({ storeFullIp: true, requireUserHash: false, retentionDays: null });
      const updated = await store.updateSite(other.id, { origins: ['https://a.example'], settings: { retentionDays: 30 }, secret: 'sk_new' });
      expect(updated).toMatchObject({ origins: ['https://a.example'], secret: 'sk_new', settings: { storeFullIp: true, retentionDays: 30 } });
      expect((await store.listSites()).find((s) => s.id === other.id)).toEqual(updated);
      expect(await store.updateSite('nope', { name: 'x' })).toBeNull();
    });
  });

  describe('ingest', () => {
    it('dedupes by sender and message id', async () => {
      const first = track('a1', 'Clicked', T0, { messageId: 'same' });
      expect((await send(first)).outcomes).toEqual(['stored']);
      expect((await send({ ...first }, track('a1', 'Clicked', T0 + 1))).outcomes).toEqual(['duplicate', 'stored']);
      // The same message id from another sender is another message.
      expect((await send(track('a2', 'Clicked', T0, { messageId: 'same' }))).outcomes).toEqual(['stored']);
      const events = await allEvents();
      expect(events).toHaveLength(3);
      expect(events.filter((e) => e.messageId === 'same').map((e) => e.anonymousId).sort()).toEqual(['a1', 'a2']);
      // Repeated within one call, it is stored once.
      const twice = track('a3', 'Clicked', T0, { messageId: 'twice' });
      expect((await send(twice, { ...twice })).outcomes).toEqual(['stored', 'duplicate']);
      expect((await allEvents()).filter((e) => e.messageId === 'twice')).toHaveLength(1);
    });

    it('merges an anonymous visitor into the known profile on identify', async () => {
      await send(identify('phone', 'u1', T0));
      await send(track('laptop', 'Viewed', T0 + 1), track('laptop', 'Viewed', T0 + 2));
      const anonymous = (await store.findProfileId(site.id, 'anonymous', 'laptop'))!;
      const known = (await store.findProfileId(site.id, 'user', 'u1'))!;
      expect(anonymous).not.toBe(known);

      await send(identify('laptop', 'u1', T0 + 3));
      expect(await store.findProfileId(site.id, 'anonymous', 'laptop')).toBe(known);
      expect((await store.getProfile(site.id, anonymous))!.mergedInto).toBe(known);
      const events = await store.profileEvents(site.id, known, 100);
      expect(events.items).toHaveLength(4);
      expect(events.items.every((e) => e.profileId === known)).toBe(true);
      const merges = await store.profileMerges(site.id, known);
      expect(merges.filter((m) => m.from === anonymous)).toMatchObject([{ rule: 'identify', into: known, from: anonymous }]);
      expect((await store.profileIdentities(site.id, known)).sort((a, b) => (a.value < b.value ? -1 : 1))).toEqual([
        { kind: 'anonymous', value: 'laptop' },
        { kind: 'anonymous', value: 'phone' },
        { kind: 'user', value: 'u1' },
      ]);
      expect(await store.profileIdentities(site.id, anonymous)).toEqual([]);
      const live = await store.listProfiles({ siteId: site.id, limit: 10 });
      expect(live.items.map((p) => p.id)).toEqual([known]);
      expect(live.items[0].computed.eventCount).toBe(4);

      // Once more: nothing more to merge.
      await send(identify('laptop', 'u1', T0 + 4));
      expect((await store.profileMerges(site.id, known)).filter((m) => m.from === anonymous)).toHaveLength(1);
    });

    it('finds the live profile of the first identity that has one, in the order asked', async () => {
      await send(identify('tablet', 'u7', T0), track('kiosk', 'Viewed', T0 + 1));
      const known = (await store.findProfileId(site.id, 'user', 'u7'))!;
      const kiosk = (await store.findProfileId(site.id, 'anonymous', 'kiosk'))!;
      const user = { kind: 'user', value: 'u7' } as const;
      const anonymous = { kind: 'anonymous', value: 'kiosk' } as const;
      const nobody = { kind: 'user', value: 'nobody' } as const;
      expect((await store.findProfile(site.id, [user, anonymous]))!.id).toBe(known);
      expect((await store.findProfile(site.id, [anonymous, user]))!.id).toBe(kiosk);
      expect((await store.findProfile(site.id, [nobody, anonymous]))!.computed.eventCount).toBe(1);
      expect(await store.findProfile(site.id, [nobody])).toBeNull();
      expect(await store.findProfile(site.id, [])).toBeNull();
      // Once merged, the anonymous id leads to the known profile.
      await send(identify('kiosk', 'u7', T0 + 2));
      expect((await store.findProfile(site.id, [anonymous]))!.id).toBe(known);
    });

    it('moves a shared anonymous id to the next user without merging the two', async () => {
      await send(identify('shared', 'alice', T0));
      await send(identify('shared', 'bob', T0 + 1));
      const alice = (await store.findProfileId(site.id, 'user', 'alice'))!;
      const bob = (await store.findProfileId(site.id, 'user', 'bob'))!;
      expect(alice).not.toBe(bob);
      expect(await store.findProfileId(site.id, 'anonymous', 'shared')).toBe(bob);
      expect((await store.getProfile(site.id, alice))!.mergedInto).toBeNull();
      expect(await store.profileMerges(site.id, bob)).toMatchObject([{ rule: 'anonymous-moved', from: alice, into: bob }]);
    });

    it('applies the alias rules', async () => {
      await send(identify('a-old', 'old-id', T0), identify('a-new', 'new-id', T0 + 1));
      const old = (await store.findProfileId(site.id, 'user', 'old-id'))!;
      const current = (await store.findProfileId(site.id, 'user', 'new-id'))!;
      await send(ev({ type: 'alias', name: null, userId: 'new-id', previousId: 'old-id', trust: 'trusted', timestamp: T0 + 2, receivedAt: T0 + 2 }));
      expect((await store.getProfile(site.id, old))!.mergedInto).toBe(current);
      expect(await store.findProfileId(site.id, 'user', 'old-id')).toBeNull();
      expect(await store.findProfileId(site.id, 'alias', 'old-id')).toBe(current);
      expect((await store.profileMerges(site.id, current)).at(-1)).toMatchObject({ rule: 'alias', from: old, into: current });

      // Sent with the write key, an alias may not take someone else's id.
      await send(identify('victim-browser', 'victim', T0 + 3));
      const victim = (await store.findProfileId(site.id, 'user', 'victim'))!;
      const result = await send(
        ev({ type: 'alias', name: null, anonymousId: 'mallory', userId: 'mallory-id', previousId: 'victim-browser', timestamp: T0 + 4, receivedAt: T0 + 4 }),
      );
      expect(result.notes).toMatchObject([{ code: 'alias_refused', field: 'previousId' }]);
      expect(await store.findProfileId(site.id, 'anonymous', 'victim-browser')).toBe(victim);
      expect((await store.getProfile(site.id, victim))!.mergedInto).toBeNull();
    });

    it('records offer events, and moves them with a merge', async () => {
      await send(identify('known-device', 'buyer', T0));
      await send(
        track('visitor', SLOT_EVENTS.impression, T0 + 1, { properties: { offerId: 'o1' } }),
        track('visitor', SLOT_EVENTS.click, T0 + 2, { properties: { offerId: 'o1' } }),
        track('visitor', SLOT_EVENTS.control, T0 + 3, { properties: { offerId: 'o2' } }),
        track('visitor', SLOT_EVENTS.impression, T0 + 4, { properties: {} }),
      );
      const visitor = (await store.findProfileId(site.id, 'anonymous', 'visitor'))!;
      expect(await store.offerEvents(site.id, 'o1')).toEqual([
        { profileId: visitor, kind: 'impression', timestamp: T0 + 1 },
        { profileId: visitor, kind: 'click', timestamp: T0 + 2 },
      ]);
      await send(identify('visitor', 'buyer', T0 + 5));
      const buyer = (await store.findProfileId(site.id, 'user', 'buyer'))!;
      expect((await store.offerEvents(site.id, 'o1')).map((e) => e.profileId)).toEqual([buyer, buyer]);
      expect(await store.offerEvents(site.id, 'o2')).toEqual([{ profileId: buyer, kind: 'control', timestamp: T0 + 3 }]);
    });

    it('ends concurrent calls as the same calls one after another end: people, events, dedupe and rollups', async () => {
      // Calls that a store may write together (PostgreSQL groups waiting calls into one
      // transaction): many visitors; one user logging in from two browsers in two calls at once;
      // a call resent while the first is in flight; an order that adds to the same rollup rows.
      const callsFor = (tag: string) => {
        const calls: IngestEvent[][] = [];
        for (let i = 0; i < 24; i++) {
          calls.push([
            page(`${tag}-v${i}`, T0 + i, { medium: 'search', source: 'Google', term: 'tent' }),
            track(`${tag}-v${i}`, 'Product Viewed', T0 + i + 1, { messageId: `${tag}-pv-${i}` }),
          ]);
        }
        for (let i = 0; i < 6; i++) {
          calls.push([page(`${tag}-phone${i}`, T0 + 100 + i, { medium: 'email', source: 'newsletter' }), identify(`${tag}-phone${i}`, `${tag}-u${i}`, T0 + 200 + i)]);
          calls.push([page(`${tag}-laptop${i}`, T0 + 100 + i, { medium: 'email', source: 'newsletter' }), identify(`${tag}-laptop${i}`, `${tag}-u${i}`, T0 + 200 + i)]);
        }
        for (let i = 0; i < 6; i++) {
          const order = track(`${tag}-v${i}`, 'Order Completed', T0 + 300 + i, { messageId: `${tag}-order-${i}`, properties: { revenue: 10 + i }, message: { properties: { revenue: 10 + i } } });
          calls.push([order], [{ ...order }]);
        }
        return calls;
      };
      const other = await createTestSite(store, {}, 'One after another');
      const together = await Promise.all(callsFor('t').map((events) => ingest(store, site, events)));
      const inTurn = [];
      for (const events of callsFor('s')) inTurn.push(await ingest(store, other, events));

      const stored = (results: typeof together) => results.flatMap((r) => r.outcomes).filter((o) => o === 'stored').length;
      expect(stored(together)).toBe(stored(inTurn));
      expect(stored(together)).toBe(24 * 2 + 12 * 2 + 6);
      expect(await allEvents(site.id)).toHaveLength(stored(together));
      // Each resent order stored by exactly one of its two calls.
      const orders = together.slice(-12);
      for (let i = 0; i < 12; i += 2) expect([orders[i].outcomes[0], orders[i + 1].outcomes[0]].sort()).toEqual(['duplicate', 'stored']);
      for (let i = 0; i < 6; i++) {
        const user = (await store.findProfileId(site.id, 'user', `t-u${i}`))!;
        expect(await store.findProfileId(site.id, 'anonymous', `t-phone${i}`)).toBe(user);
        expect(await store.findProfileId(site.id, 'anonymous', `t-laptop${i}`)).toBe(user);
      }
      const live = async (s: Site) => (await store.listProfiles({ siteId: s.id, limit: 1000 })).items.length;
      expect(await live(site)).toBe(await live(other));
      expect(await live(site)).toBe(24 + 6);
      const figures = async (s: Site) => {
        const days = { from: Math.floor(T0 / DAY) - 1, to: Math.floor(T0 / DAY) + 1 };
        const { daily, range, ...rest } = await siteOverview(store, s, days);
        const touches = await Promise.all(
          (['first', 'last'] as const).map(async (touch) => sorted(await store.rollupTouches(s.id, touch, days.from, days.to, ['medium', 'source', 'term']))),
        );
        return { daily, rest, touches };
      };
      const a = await figures(site);
      expect(a).toEqual(await figures(other));
      expect(a.rest.totals).toMatchObject({ events: stored(together), orders: 6, revenue: (10 + 11 + 12 + 13 + 14 + 15) * 100, customers: 6 });
    });
  });

  describe('lists and cursors', () => {
    it('lists events newest first, in pages, with filters', async () => {
      await send(page('a1', T0), track('a1', 'Clicked', T0 + 1), identify('a2', 'u2', T0 + 2), page('a2', T0 + 3), track('a1', 'Clicked', T0 + 4));
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const result = await store.listEvents({ siteId: site.id, limit: 2, cursor });
        seen.push(...result.items.map((e) => `${e.type}@${Date.parse(e.timestamp) - T0}`));
        cursor = result.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual(['track@4', 'page@3', 'identify@2', 'track@1', 'page@0']);

      expect((await store.listEvents({ siteId: site.id, limit: 10, type: 'page' })).items.map((e) => e.anonymousId)).toEqual(['a2', 'a1']);
      expect((await store.listEvents({ siteId: site.id, limit: 10, anonymousId: 'a1' })).items).toHaveLength(3);
      expect((await store.listEvents({ siteId: site.id, limit: 10, userId: 'u2' })).items.map((e) => e.type)).toEqual(['identify']);
      const p2 = (await store.findProfileId(site.id, 'anonymous', 'a2'))!;
      expect((await store.listEvents({ siteId: site.id, limit: 10, profileId: p2 })).items.map((e) => e.type)).toEqual(['page', 'identify']);
      const other = await createTestSite(store, {}, 'Other');
      expect((await store.listEvents({ siteId: other.id, limit: 10 })).items).toEqual([]);

      const stored = (await store.listEvents({ siteId: site.id, limit: 1 })).items[0];
      expect(stored).toMatchObject({ siteId: site.id, type: 'track', event: 'Clicked', name: null, anonymousId: 'a1', timestamp: new Date(T0 + 4).toISOString() });
      expect(typeof stored.id).toBe('string');
      expect(typeof stored.sessionId).toBe('string');
    });

    it('lists live profiles most recently seen first, in pages, with filters', async () => {
      await send(
        identify('p1', 'user-1', T0 + 1, { traits: { email: ' Ann@Example.com ', note: '100% real' } }),
        identify('p2', 'user-2', T0 + 2, { traits: { city: 'Zürich', tier: 'GOLD' } }),
        track('p3', 'Clicked', T0 + 3),
        track('p4', 'Clicked', T0 + 4),
        track('p5', 'Clicked', T0 + 4),
      );
      const ids = async (query: Partial<Parameters<Store['listProfiles']>[0]>) =>
        (await store.listProfiles({ siteId: site.id, limit: 10, ...query })).items.map((p) => p.userId ?? p.computed.firstId);

      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const result = await store.listProfiles({ siteId: site.id, limit: 2, cursor });
        seen.push(...result.items.map((p) => p.id));
        cursor = result.nextCursor ?? undefined;
      } while (cursor);
      const all = (await store.listProfiles({ siteId: site.id, limit: 10 })).items;
      expect(seen).toEqual(all.map((p) => p.id));
      expect(all).toHaveLength(5);
      expect(all.map((p) => p.computed.lastSeen)).toEqual([T0 + 4, T0 + 4, T0 + 3, T0 + 2, T0 + 1]);
      // Equal last_seen: by id.
      expect(all[0].id < all[1].id).toBe(true);

      expect(await ids({ userId: 'user-2' })).toEqual(['user-2']);
      expect(await ids({ anonymousId: 'p3' })).toEqual(['p3']);
      expect(await ids({ email: ' ANN@example.COM' })).toEqual(['user-1']);
      expect(await ids({ q: 'gold' })).toEqual(['user-2']);
      expect(await ids({ q: 'USER-' })).toEqual(['user-2', 'user-1']);
      expect(await ids({ q: 'p4' })).toEqual(['p4']);
      // LIKE's wildcards are literal, and only ASCII letters fold case (as SQLite's LIKE).
      expect(await ids({ q: '100%' })).toEqual(['user-1']);
      expect(await ids({ q: '_' })).toEqual([]);
      expect(await ids({ q: 'zürich' })).toEqual(['user-2']);
      expect(await ids({ q: 'ZÜRICH' })).toEqual([]);
      expect(await ids({ q: all[2].id })).toEqual(['p3']);
    });

    it("pages a profile's events by event time", async () => {
      await send(track('a', 'E1', T0), track('a', 'E2', T0), track('a', 'E3', T0 + 10), track('a', 'E4', T0 - 5), track('a', 'E5', T0 + 10));
      const id = (await store.findProfileId(site.id, 'anonymous', 'a'))!;
      const names: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const result = await store.profileEvents(site.id, id, 2, cursor);
        names.push(...result.items.map((e) => e.event!));
        cursor = result.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      expect(names).toEqual(['E5', 'E3', 'E2', 'E1', 'E4']);
      expect(pages).toBe(3);
    });

    it('scans live profiles most recently seen first, stops when told, and resumes after a cursor', async () => {
      await send(track('s1', 'X', T0 + 1), track('s2', 'X', T0 + 3), track('s3', 'X', T0 + 2));
      await send(identify('s1', 'su', T0 + 4), identify('s4', 'su', T0 + 5)); // s4 joins s1's profile
      const seen: Array<string | null> = [];
      await store.scanProfiles(site.id, (p) => void seen.push(p.computed.firstId));
      expect(seen).toEqual(['s1', 's2', 's3']);
      let visited = 0;
      await store.scanProfiles(site.id, () => ++visited < 2);
      expect(visited).toBe(2);
      const first = (await store.getProfile(site.id, (await store.findProfileId(site.id, 'anonymous', 's1'))!))!;
      const rest: Array<string | null> = [];
      await store.scanProfiles(site.id, (p) => void rest.push(p.computed.firstId), encodeCursor(first.computed.lastSeen!, first.id));
      expect(rest).toEqual(['s2', 's3']);
    });
  });

  describe('export and erasure', () => {
    it('exports everything about a person and erases it, across months', async () => {
      const now = Date.now();
      const thisMonth = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
      const lastMonth = thisMonth - 10 * DAY;
      const nextMonth = thisMonth + 40 * DAY;
      await send(identify('e-phone', 'eu', lastMonth));
      await send(
        page('e-laptop', lastMonth + HOUR),
        page('e-laptop', thisMonth + HOUR),
        track('e-laptop', SLOT_EVENTS.impression, nextMonth, { properties: { offerId: 'o1' } }),
      );
      await send(identify('e-laptop', 'eu', nextMonth + HOUR));
      await send(track('bystander', 'Clicked', thisMonth + HOUR));
      const id = (await store.findProfileId(site.id, 'user', 'eu'))!;

      const exported = (await store.exportProfile(site.id, id))!;
      expect(exported.profile.id).toBe(id);
      expect(exported.identities).toHaveLength(3);
      expect(exported.merges).toMatchObject([{ rule: 'identify', into: id }]);
      expect(exported.events.map((e) => Date.parse(e.timestamp))).toEqual([lastMonth, lastMonth + HOUR, thisMonth + HOUR, nextMonth, nextMonth + HOUR]);
      expect(await store.exportProfile(site.id, 'nobody')).toBeNull();

      // 5 events and 1 offer event; the profile and the tombstone of the laptop's.
      expect(await store.deleteProfile(site.id, id)).toEqual({ profiles: 2, identities: 3, events: 6, merges: 1, runs: 0 });
      expect(await store.getProfile(site.id, id)).toBeNull();
      expect(await store.findProfileId(site.id, 'anonymous', 'e-laptop')).toBeNull();
      expect(await store.offerEvents(site.id, 'o1')).toEqual([]);
      expect((await allEvents()).map((e) => e.anonymousId)).toEqual(['bystander']);
      expect((await store.listProfiles({ siteId: site.id, limit: 10 })).items).toHaveLength(1);
      expect(await store.deleteProfile(site.id, id)).toEqual({ profiles: 0, identities: 0, events: 0, merges: 0, runs: 0 });
      // Nothing of them is left, not even what dedupe kept: the same message is new again.
      const again = identify('e-phone', 'eu', lastMonth, { messageId: exported.events[0].messageId });
      expect((await send(again)).outcomes).toEqual(['stored']);
    });
  });

  describe('segments and offers', () => {
    const segment = (id: string, name: string): Segment => ({
      id,
      siteId: site.id,
      name,
      description: null,
      rule: { field: 'computed.orders', op: 'gte', value: 1 },
      createdAt: T0,
      updatedAt: T0,
    });

    it('saves, lists, renames and deletes segments; a name is taken once', async () => {
      await store.saveSegment(segment('s1', 'Buyers'));
      await store.saveSegment(segment('s2', 'Anyone'));
      expect((await store.listSegments(site.id)).map((s) => s.name)).toEqual(['Anyone', 'Buyers']);
      await store.saveSegment({ ...segment('s1', 'Customers'), description: 'bought', updatedAt: T0 + 1 });
      expect(await store.listSegments(site.id)).toEqual([segment('s2', 'Anyone'), { ...segment('s1', 'Customers'), description: 'bought', updatedAt: T0 + 1 }]);
      await expect(store.saveSegment(segment('s3', 'Customers'))).rejects.toBeInstanceOf(ConflictError);
      await expect(store.saveSegment(segment('s2', 'Customers'))).rejects.toBeInstanceOf(ConflictError);
      const other = await createTestSite(store, {}, 'Other');
      await store.saveSegment({ ...segment('s3', 'Customers'), siteId: other.id });
      expect(await store.deleteSegment(site.id, 's1')).toBe(true);
      expect(await store.deleteSegment(site.id, 's1')).toBe(false);
      expect((await store.listSegments(site.id)).map((s) => s.id)).toEqual(['s2']);
    });

    it('saves, lists and deletes offers, and their events with them', async () => {
      const offer = (id: string, slot: string, priority: number, name: string): Offer => ({
        id,
        siteId: site.id,
        name,
        slot,
        segmentId: null,
        priority,
        status: 'active',
        content: { title: 'Hi', text: 'There' },
        startsAt: null,
        endsAt: T0 + DAY,
        cap: { count: 3, days: 7 },
        controlPercent: 10,
        goal: { event: 'Order Completed', withinDays: 7 },
        createdAt: T0,
        updatedAt: T0,
      });
      await store.saveOffer(offer('o1', 'hero', 1, 'B'));
      await store.saveOffer(offer('o2', 'hero', 5, 'A'));
      await store.saveOffer({ ...offer('o3', 'aside', 1, 'C'), cap: null, goal: null, endsAt: null, segmentId: 's1' });
      expect((await store.listOffers(site.id)).map((o) => o.id)).toEqual(['o3', 'o2', 'o1']);
      await store.saveOffer({ ...offer('o1', 'hero', 9, 'B2'), status: 'paused', updatedAt: T0 + 1 });
      const listed = await store.listOffers(site.id);
      expect(listed.map((o) => o.id)).toEqual(['o3', 'o1', 'o2']);
      expect(listed[1]).toEqual({ ...offer('o1', 'hero', 9, 'B2'), status: 'paused', updatedAt: T0 + 1 });
      expect(listed[0]).toMatchObject({ cap: null, goal: null, endsAt: null, segmentId: 's1' });

      await send(track('v', SLOT_EVENTS.impression, T0, { properties: { offerId: 'o1' } }));
      expect(await store.offerEvents(site.id, 'o1')).toHaveLength(1);
      expect(await store.deleteOffer(site.id, 'o1')).toBe(true);
      expect(await store.deleteOffer(site.id, 'o1')).toBe(false);
      expect(await store.offerEvents(site.id, 'o1')).toEqual([]);
      expect((await store.listOffers(site.id)).map((o) => o.id)).toEqual(['o3', 'o2']);
    });

    it('finds the first goal event of each visitor within a window', async () => {
      await send(track('g1', 'Signup', T0 + 10), track('g1', 'Signup', T0 + 20), track('g1', 'Other', T0 + 5), track('g2', 'Other', T0 + 10));
      const g1 = (await store.findProfileId(site.id, 'anonymous', 'g1'))!;
      const g2 = (await store.findProfileId(site.id, 'anonymous', 'g2'))!;
      expect(
        await store.firstEventsBetween(site.id, 'Signup', [
          { profileId: g1, from: T0, to: T0 + 100 },
          { profileId: g1, from: T0 + 11, to: T0 + 20 },
          { profileId: g1, from: T0 + 21, to: T0 + 100 },
          { profileId: g2, from: T0, to: T0 + 100 },
          { profileId: 'nobody', from: T0, to: T0 + 100 },
        ]),
      ).toEqual([T0 + 10, T0 + 20, null, null, null]);
      expect(await store.firstEventsBetween(site.id, 'Signup', [])).toEqual([]);
    });
  });

  describe('rankings', () => {
    it('reads the buyers of a site and ranks them', async () => {
      const order = (anonymousId: string, revenue: number, at: number) => track(anonymousId, 'Order Completed', at, { properties: { revenue } });
      await send(order('big', 100, T0), order('big', 50, T0 + DAY), order('mid', 30, T0), order('small', 1, T0 - DAY), track('browser', 'Viewed', T0));
      await send(identify('small', 'small-user', T0), identify('small-2', 'small-user', T0 + 1));
      const idOf = async (a: string) => (await store.findProfileId(site.id, 'anonymous', a))!;
      const inputs = (await store.rankingInputs(site.id)).sort((a, b) => b.revenue - a.revenue);
      expect(inputs).toEqual([
        { id: await idOf('big'), orders: 2, revenue: 150, lastOrderAt: T0 + DAY },
        { id: await idOf('mid'), orders: 1, revenue: 30, lastOrderAt: T0 },
        { id: await idOf('small'), orders: 1, revenue: 1, lastOrderAt: T0 - DAY },
      ]);
      const rankings = await unpackRankings(await store.rankings(site.id, T0 + 2 * DAY), T0 + 2 * DAY);
      expect(rankings.computedAt).toBe(T0 + 2 * DAY);
      expect(Object.fromEntries(rankings.abc)).toEqual({ [await idOf('big')]: 'A', [await idOf('mid')]: 'B', [await idOf('small')]: 'C' });
      expect(rankings.rfm.size).toBe(3);
      expect(rankings.rfm.get(await idOf('big'))!.score).toMatch(/^\d{3}$/);
    });
  });

  describe('rollups and the overview', () => {
    const range = (today: number, days = 30) => ({ from: Math.floor(today / DAY) - days + 1, to: Math.floor(today / DAY) });

    it('gives the figures of a small fixed dataset', async () => {
      const today = Date.UTC(2026, 10, 20);
      const since = today - 29 * DAY;
      // A: new today, one session from a search, an order; B: new three days ago, two sessions,
      // then known; C: first seen before the 30 days, back 20 days ago; D: not seen in the 30 days.
      await send(
        page('A', today + 10 * HOUR, { medium: 'search', source: 'Google', term: 'Shoes' }),
        page('A', today + 10 * HOUR + 5 * 60_000),
        track('A', 'Order Completed', today + 10 * HOUR + 10 * 60_000, { properties: { revenue: 20 }, message: { properties: { revenue: 20 } } }),
      );
      await send(
        page('B', today - 3 * DAY, { medium: 'social', source: 'Facebook' }),
        page('B', today - 3 * DAY + 2 * HOUR, { medium: 'search', source: 'Google', term: 'shoes' }),
        identify('B', 'b-user', today - 3 * DAY + 2 * HOUR + 60_000),
      );
      await send(page('C', since - 5 * DAY, { medium: 'direct' }), page('C', today - 20 * DAY, { medium: 'direct' }));
      await send(page('D', since - 10 * DAY, { medium: 'direct' }));

      const overview = await siteOverview(store, site, range(today));
      const { daily, ...figures } = overview;
      expect(figures).toEqual({
        range: { from: '2026-10-22', to: '2026-11-20', days: 30 },
        timeZone: 'UTC',
        people: 4,
        identified: 1,
        totals: { events: 7, visitors: 3, newVisitors: 2, sessions: 4, orders: 1, revenue: 2000, customers: 1 },
        sources: [
          { medium: 'search', source: 'Google', sessions: 2 },
          { medium: 'direct', source: '', sessions: 1 },
          { medium: 'social', source: 'Facebook', sessions: 1 },
        ],
        keywords: [{ term: 'shoes', sessions: 2 }],
      });
      expect(daily).toHaveLength(30);
      expect(daily[0].date).toBe('2026-10-22');
      expect(daily.filter((d) => d.events > 0)).toEqual([
        { date: '2026-10-31', events: 1, visitors: 1, newVisitors: 0, sessions: 1, orders: 0, revenue: 0, customers: 0 },
        { date: '2026-11-17', events: 3, visitors: 1, newVisitors: 1, sessions: 2, orders: 0, revenue: 0, customers: 0 },
        { date: '2026-11-20', events: 3, visitors: 1, newVisitors: 1, sessions: 1, orders: 1, revenue: 2000, customers: 1 },
      ]);
      const other = await createTestSite(store, {}, 'Other');
      expect(await siteOverview(store, other, range(today))).toMatchObject({ people: 0, identified: 0, totals: { events: 0 }, sources: [], keywords: [] });
      // A rebuild from the stored events finds the same.
      const before = await store.rollupDays(site.id, 0, range(today).to);
      await rebuildRollups(store, site);
      expect(await store.rollupDays(site.id, 0, range(today).to)).toEqual(before);
    });

    it('stores, and reports on, characters that only JSON escapes: NUL and unpaired surrogates', async () => {
      const at = Date.now() - HOUR;
      const odd = { nul: 'a\u0000b', lone: 'x\ud800y', backslash: '\\u0000' };
      const result = await send(
        page('odd', at, { medium: 'search', source: 'Google', term: 'odd' }, { properties: odd, message: { properties: odd } }),
        track('odd', SLOT_EVENTS.impression, at + 1, { properties: { offerId: 'o\u0000' } }),
        identify('odd', 'odd-user', at + 2, { trust: 'trusted', traits: { email: 'a\u0000@b.example', odd } }),
      );
      expect(result.outcomes).toEqual(['stored', 'stored', 'stored']);
      const overview = await siteOverview(store, site, range(at, 1));
      expect(overview).toMatchObject({
        people: 1,
        identified: 1,
        sources: [{ medium: 'search', source: 'Google', sessions: 1 }],
        keywords: [{ term: 'odd', sessions: 1 }],
      });
      const id = (await store.findProfileId(site.id, 'user', 'odd-user'))!;
      expect((await store.getProfile(site.id, id))!.traits.odd).toEqual(odd);
      expect((await store.profileEvents(site.id, id, 10)).items.at(-1)!.properties).toEqual(odd);
    });

    it('counts days in the site time zone', async () => {
      const berlin = (await store.updateSite(site.id, { settings: { timeZone: 'Europe/Berlin' } }))!;
      // 23:30 UTC on 30 November is 00:30 on 1 December in Berlin.
      const late = Date.UTC(2026, 10, 30, 23, 30);
      await ingest(store, berlin, [page('night', late, { medium: 'direct' })]);
      const days = await store.rollupDays(site.id, 0, 30_000);
      expect(days.map((d) => d.day)).toEqual([Math.floor(Date.UTC(2026, 11, 1) / DAY)]);
    });

    it('counts two people merged into one once, and an erased person not at all', async () => {
      const day = Math.floor(T0 / DAY);
      await send(page('phone', T0, { medium: 'search', source: 'Google', term: 'lamp' }));
      await send(page('laptop', T0 + HOUR, { medium: 'social', source: 'Facebook' }));
      expect((await store.rollupDays(site.id, day, day))[0]).toMatchObject({ visitors: 2, newVisitors: 2, sessions: 2 });
      await send(identify('phone', 'u-m', T0 + 600_000, { trust: 'trusted' }), identify('laptop', 'u-m', T0 + HOUR + 600_000, { trust: 'trusted' }));
      // One person now, new on the day of the earlier first visit, by its touch; sessions stay as they were.
      expect((await store.rollupDays(site.id, day, day))[0]).toMatchObject({ visitors: 1, newVisitors: 1, sessions: 2, events: 4 });
      const first = await store.rollupTouches(site.id, 'first', day, day, ['source']);
      expect(first.filter((r) => r.visitors !== 0)).toEqual([expect.objectContaining({ source: 'Google', visitors: 1 })]);
      const before = await store.rollupTouches(site.id, 'session', day, day, ['medium', 'source', 'campaign', 'term']);
      await rebuildRollups(store, site);
      const rebuilt = await store.rollupTouches(site.id, 'session', day, day, ['medium', 'source', 'campaign', 'term']);
      expect(sorted(rebuilt)).toEqual(sorted(before));

      const id = (await store.findProfileId(site.id, 'user', 'u-m'))!;
      await store.deleteProfile(site.id, id, (profile, events) => uncountPerson(profile, events, 'UTC'));
      expect((await store.rollupDays(site.id, day, day))[0]).toMatchObject({ events: 0, visitors: 0, newVisitors: 0, sessions: 0 });
      for (const touch of ['session', 'first', 'last'] as const) {
        expect(await store.rollupTouches(site.id, touch, day, day, ['term'])).toEqual([]);
      }
    });

    it('splits funnels and cohorts by the first touch a person has now: after a merge, and after a recount', async () => {
      await send(page('phone', T0, { medium: 'search', source: 'Google' }), track('phone', 'Product Viewed', T0 + 1_000));
      await send(page('laptop', T0 + HOUR, { medium: 'social', source: 'Facebook' }), track('laptop', 'Product Viewed', T0 + HOUR + 1_000));
      const funnel = async (touch: 'source' | 'medium') =>
        (await store.funnel(site.id, { steps: [{ event: 'Product Viewed' }, { event: 'Order Completed' }], from: T0 - DAY, to: T0 + DAY, windowMs: DAY, by: { touch } })).groups;
      const day = Math.floor(T0 / DAY);
      const monday = day - ((day + 3) % 7);
      const cohorts = async () => {
        const query = { from: monday, dayStarts: Array.from({ length: 7 * 3 + 1 }, (_, i) => (monday + i) * DAY), cohortWeeks: 1, weeks: 2, metric: 'return' as const, bySource: true };
        return (await store.cohorts(site.id, query)).groups?.map((g) => [g.key, g.cohorts[0].people]);
      };
      expect(sorted((await funnel('medium'))!)).toEqual(sorted([{ key: 'search', steps: [1, 0] }, { key: 'social', steps: [1, 0] }]));
      expect(sorted((await cohorts())!)).toEqual(sorted([['Google', 1], ['Facebook', 1]]));

      // One person, by the earlier first touch.
      await send(identify('phone', 'u-t', T0 + 2_000, { trust: 'trusted' }), identify('laptop', 'u-t', T0 + HOUR + 2_000, { trust: 'trusted' }));
      expect(await funnel('medium')).toEqual([{ key: 'search', steps: [1, 0] }]);
      expect(await cohorts()).toEqual([['Google', 1]]);

      // A recount that finds another first touch (rapport rollups rebuild) moves the person.
      const profile = (await store.getProfile(site.id, (await store.findProfileId(site.id, 'user', 'u-t'))!))!;
      profile.computed.firstTouch = { ...profile.computed.firstTouch!, medium: 'referral', source: 'Bing' };
      await store.updateComputed(site.id, [profile]);
      expect(await funnel('source')).toEqual([{ key: 'Bing', steps: [1, 0] }]);
      expect(await funnel('medium')).toEqual([{ key: 'referral', steps: [1, 0] }]);
      expect(await cohorts()).toEqual([['Bing', 1]]);
    });
  });

  describe('leases and retention', () => {
    it('gives a lease to one holder at a time, and to another once it expired', async () => {
      expect(await store.lease('refresh', 'node-a', 300)).toBe(true);
      expect(await store.lease('refresh', 'node-b', 300)).toBe(false);
      expect(await store.lease('refresh', 'node-a', 300)).toBe(true);
      expect(await store.lease('other-work', 'node-b', 300)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(await store.lease('refresh', 'node-b', 300)).toBe(true);
      expect(await store.lease('refresh', 'node-a', 300)).toBe(false);
    });

    it('deletes what is older than each site cutoff, and keeps the rest', async () => {
      const now = Date.now();
      const other = await createTestSite(store, {}, 'Keeps everything');
      await send(
        track('r', 'Old', now - 100 * DAY),
        track('r', SLOT_EVENTS.impression, now - 90 * DAY, { properties: { offerId: 'o1' } }),
        track('r', 'Recent', now - DAY),
        track('r', SLOT_EVENTS.impression, now - DAY, { properties: { offerId: 'o1' } }),
      );
      await ingest(store, other, [track('r', 'Old', now - 100 * DAY), track('r', 'Recent', now - DAY)]);
      const result = await store.applyRetention([
        { siteId: site.id, before: now - 30 * DAY },
        { siteId: other.id, before: null },
      ]);
      expect(result).toEqual({ events: 2, partitionsDropped: 0 });
      expect((await allEvents()).map((e) => e.event)).toEqual([SLOT_EVENTS.impression, 'Recent']);
      expect((await allEvents(other.id)).map((e) => e.event)).toEqual(['Recent', 'Old']);
      expect((await store.offerEvents(site.id, 'o1')).map((e) => e.timestamp)).toEqual([now - DAY]);
      expect(await store.applyRetention([{ siteId: site.id, before: now - 30 * DAY }])).toEqual({ events: 0, partitionsDropped: 0 });
    });
  });
});
