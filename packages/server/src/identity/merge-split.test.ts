import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../ids.js';
import { recountProfile } from '../profiles/recount.js';
import type { ProfileRecord } from '../profiles/types.js';
import { startTestServer, type TestServer } from '../test-support/server.js';
import type { Site, StoredEvent } from '../store/types.js';

// Operator merge and split over HTTP, on the store under test, and the property that every
// profile, whatever the merges and splits, equals a recount from its own events.

let t: TestServer;
let n = 0;
const DAY = 86_400_000;
const base = Date.now() - 10 * DAY;
const at = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

async function send(site: Site, batch: Array<Record<string, unknown>>) {
  const res = await fetch(`${t.url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${site.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ batch: batch.map((m) => ({ messageId: `m-${++n}`, ...m })) }),
  });
  expect(res.status).toBe(200);
}

const store = () => t.server.store;
const idOf = async (site: Site, kind: 'user' | 'anonymous', value: string) => (await store().findProfileId(site.id, kind, value))!;
const eventsOf = async (site: Site, id: string) => (await store().exportProfile(site.id, id))!.events;

describe('operator merge', () => {
  it('previews what moves and which traits win, then merges two identified customers, recorded with who', async () => {
    await send(t.site, [
      { type: 'identify', userId: 'dup-a', anonymousId: 'dup-anon-a', traits: { name: 'Ann', city: 'Oslo' }, timestamp: at(base) },
      { type: 'track', userId: 'dup-a', event: 'Order Completed', properties: { revenue: 30 }, timestamp: at(base + 1000) },
      { type: 'identify', userId: 'dup-b', traits: { name: 'Ann Lee', phone: '123' }, timestamp: at(base + DAY) },
    ]);
    const a = await idOf(t.site, 'user', 'dup-a');
    const b = await idOf(t.site, 'user', 'dup-b');

    const preview = await t.api('POST', `/api/profiles/${a}/merge`, { from: b, preview: true });
    expect(preview.status).toBe(200);
    expect(preview.body.preview.retiredUserId).toBe('dup-b');
    expect(preview.body.preview.identities).toEqual([{ kind: 'user', value: 'dup-b' }]);
    const traits = Object.fromEntries(preview.body.preview.traits.map((r: any) => [r.key, r]));
    expect(traits.name).toMatchObject({ value: 'Ann Lee', winner: 'from', other: 'Ann' });
    expect(traits.city).toMatchObject({ value: 'Oslo', winner: 'into' });
    // A preview changes nothing.
    expect((await store().getProfile(t.site.id, b))!.mergedInto).toBeNull();

    const merged = await t.api('POST', `/api/profiles/${a}/merge`, { from: b, by: 'alice@shop' });
    expect(merged.status).toBe(200);
    expect(merged.body.merge).toMatchObject({ rule: 'operator', from: b, into: a, by: 'alice@shop' });
    const kept = (await store().getProfile(t.site.id, a))!;
    expect(kept.userId).toBe('dup-a');
    expect(kept.traits).toMatchObject({ name: 'Ann Lee', city: 'Oslo', phone: '123' });
    expect(kept.computed.orders).toBe(1);
    // The retired user id still finds the customer.
    expect(await store().findProfileId(t.site.id, 'alias', 'dup-b')).toBe(a);
    expect((await eventsOf(t.site, a)).length).toBe(3);
    const history = (await t.api('GET', `/api/profiles/${a}`)).body.merges;
    expect(history.at(-1)).toMatchObject({ rule: 'operator', by: 'alice@shop' });
  });

  it('refuses a profile merged away, itself, and an unknown one, naming the reason', async () => {
    await send(t.site, [{ type: 'identify', userId: 'solo-1', timestamp: at(base) }]);
    const solo = await idOf(t.site, 'user', 'solo-1');
    expect((await t.api('POST', `/api/profiles/${solo}/merge`, { from: solo })).status).toBe(409);
    expect((await t.api('POST', `/api/profiles/${solo}/merge`, { from: 'nope' })).status).toBe(404);
    const bad = await t.api('POST', `/api/profiles/${solo}/merge`, {});
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/from/);
  });
});

describe('split', () => {
  it('gives back identities, events and figures, rebuilds both from events, and marks the merge undone', async () => {
    await send(t.site, [
      { type: 'page', anonymousId: 'sp-anon', name: 'Home', timestamp: at(base) },
      { type: 'track', anonymousId: 'sp-anon', event: 'Order Completed', properties: { revenue: 12 }, timestamp: at(base + 1000) },
      { type: 'identify', userId: 'sp-user', traits: { plan: 'gold' }, timestamp: at(base + 2000) },
      { type: 'track', userId: 'sp-user', event: 'Order Completed', properties: { revenue: 100 }, timestamp: at(base + 3000) },
    ]);
    const anon = await idOf(t.site, 'anonymous', 'sp-anon');
    const user = await idOf(t.site, 'user', 'sp-user');
    const before = { anon: (await store().getProfile(t.site.id, anon))!, user: (await store().getProfile(t.site.id, user))! };
    // A wrong login: the anonymous visitor joins the customer at ingest.
    await send(t.site, [{ type: 'identify', anonymousId: 'sp-anon', userId: 'sp-user', timestamp: at(base + 4000) }]);
    expect((await store().getProfile(t.site.id, anon))!.mergedInto).toBe(user);
    // Afterwards the browser keeps browsing anonymously.
    await send(t.site, [{ type: 'page', anonymousId: 'sp-anon', name: 'Later', timestamp: at(base + 5000) }]);
    expect((await store().getProfile(t.site.id, user))!.computed.orders).toBe(2);

    const split = await t.api('POST', `/api/profiles/${user}/split`, { from: anon, by: 'bob' });
    expect(split.status).toBe(200);
    expect(split.body.restored).toMatchObject({ id: anon, userId: null, identities: [{ kind: 'anonymous', value: 'sp-anon' }], events: 3 });
    const restored = (await store().getProfile(t.site.id, anon))!;
    const live = (await store().getProfile(t.site.id, user))!;
    expect(restored.mergedInto).toBeNull();
    expect(restored.computed).toMatchObject({ orders: 1, revenue: 12, pageviews: 2, eventCount: 3, firstId: before.anon.computed.firstId });
    expect(live.computed).toMatchObject({ orders: 1, revenue: 100, eventCount: 3 });
    expect(live.computed.merges ?? 0).toBe(0);
    expect(live.traits).toEqual(before.user.traits);
    expect(await store().findProfileId(t.site.id, 'anonymous', 'sp-anon')).toBe(anon);
    // The login that made the merge stays with the customer it named.
    expect((await eventsOf(t.site, user)).map((e) => e.type)).toEqual(['identify', 'track', 'identify']);

    const history = (await t.api('GET', `/api/profiles/${user}`)).body.merges;
    expect(history.find((m: any) => m.rule === 'identify' && m.from === anon).undoneAt).not.toBeNull();
    expect(history.at(-1)).toMatchObject({ rule: 'split', from: anon, by: 'bob' });
    // Undone once: a second split has nothing to undo.
    expect((await t.api('POST', `/api/profiles/${user}/split`, { from: anon })).status).toBe(409);
  });

  it('undoes an operator merge of two customers: each gets its user id back', async () => {
    await send(t.site, [
      { type: 'identify', userId: 'op-1', traits: { name: 'One' }, timestamp: at(base) },
      { type: 'identify', userId: 'op-2', anonymousId: 'op-2-anon', traits: { name: 'Two' }, timestamp: at(base + DAY) },
    ]);
    const one = await idOf(t.site, 'user', 'op-1');
    const two = await idOf(t.site, 'user', 'op-2');
    expect((await t.api('POST', `/api/profiles/${one}/merge`, { from: two })).status).toBe(200);
    expect((await t.api('POST', `/api/profiles/${one}/split`, { from: two })).status).toBe(200);
    expect(await store().findProfileId(t.site.id, 'user', 'op-2')).toBe(two);
    expect(await store().findProfileId(t.site.id, 'alias', 'op-2')).toBeNull();
    expect(await store().findProfileId(t.site.id, 'anonymous', 'op-2-anon')).toBe(two);
    expect((await store().getProfile(t.site.id, two))!).toMatchObject({ userId: 'op-2', traits: { name: 'Two' } });
    expect((await store().getProfile(t.site.id, one))!).toMatchObject({ userId: 'op-1', traits: { name: 'One' } });
  });

  it('answers 409 for a profile that is not merged into the one named', async () => {
    await send(t.site, [{ type: 'identify', userId: 'lone-1', timestamp: at(base) }]);
    const lone = await idOf(t.site, 'user', 'lone-1');
    expect((await t.api('POST', `/api/profiles/${lone}/split`, { from: lone })).status).toBe(409);
  });
});

/** A small deterministic generator, so that a failure replays. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The figures a recount from the events must give back exactly, however the profile came to be. */
function eventFigures(p: ProfileRecord) {
  const c = p.computed;
  return {
    traits: p.traits,
    eventCount: c.eventCount,
    pageviews: c.pageviews,
    orders: c.orders,
    revenue: c.revenue,
    firstSeen: c.firstSeen,
    lastSeen: c.lastSeen,
    firstOrderAt: c.firstOrderAt,
    lastOrderAt: c.lastOrderAt,
    events: c.events,
    activeDays: c.activeDays,
  };
}

describe('merge and split: random histories', () => {
  it('leaves every profile equal to a recount from its events, every event and id on a live profile', async () => {
    const done = { merges: 0, splits: 0 };
    for (const seed of [1, 2, 3]) {
      const site = await t.createSite({ name: `Random ${seed}`, origins: [], settings: { requireUserHash: false } });
      const next = random(seed);
      const pick = <T,>(list: T[]) => list[Math.floor(next() * list.length)];
      const anons = Array.from({ length: 8 }, (_, i) => `r${seed}-a${i}`);
      const users = Array.from({ length: 4 }, (_, i) => `r${seed}-u${i}`);
      let clock = base;
      let sent = 0;
      for (let step = 0; step < 60; step++) {
        clock += Math.floor(next() * 3 * 3_600_000);
        const roll = next();
        if (roll < 0.45) {
          const kind = next() < 0.5 ? { type: 'page', name: 'P' } : next() < 0.5 ? { type: 'track', event: 'Viewed' } : { type: 'track', event: 'Order Completed', properties: { revenue: 10 + Math.floor(next() * 90) } };
          await send(site, [{ anonymousId: pick(anons), ...kind, timestamp: at(clock) }]);
          sent++;
        } else if (roll < 0.7) {
          await send(site, [{ type: 'identify', anonymousId: pick(anons), userId: pick(users), traits: { score: step }, timestamp: at(clock) }]);
          sent++;
        } else if (roll < 0.85) {
          const live = (await store().listProfiles({ siteId: site.id, limit: 100 })).items;
          if (live.length < 2) continue;
          const into = pick(live);
          const from = pick(live.filter((p) => p.id !== into.id));
          expect((await t.api('POST', `/api/profiles/${into.id}/merge`, { from: from.id })).status).toBe(200);
          done.merges++;
        } else {
          const merges = (await store().listProfiles({ siteId: site.id, limit: 100 })).items;
          const candidates: Array<{ live: string; from: string }> = [];
          for (const p of merges) {
            for (const m of await store().profileMerges(site.id, p.id)) {
              const gone = m.from && (await store().getProfile(site.id, m.from));
              if (gone && gone.mergedInto === p.id && m.snapshot && !m.undoneAt) candidates.push({ live: p.id, from: m.from! });
            }
          }
          if (!candidates.length) continue;
          const { live, from } = pick(candidates);
          const res = await t.api('POST', `/api/profiles/${live}/split`, { from });
          // A later merge of the same profile may be the one to undo; either way nothing breaks.
          expect([200, 409]).toContain(res.status);
          if (res.status === 200) done.splits++;
        }
      }

      const live = (await store().listProfiles({ siteId: site.id, limit: 1000 })).items;
      const liveIds = new Set(live.map((p) => p.id));
      const all: StoredEvent[] = (await store().listEvents({ siteId: site.id, limit: 10_000 })).items;
      expect(all.length).toBe(sent);
      for (const e of all) expect(liveIds.has(e.profileId)).toBe(true);
      for (const value of [...anons, ...users]) {
        for (const kind of ['anonymous', 'user', 'alias'] as const) {
          const owner = await store().findProfileId(site.id, kind, value);
          if (owner) expect(liveIds.has(owner)).toBe(true);
        }
      }
      for (const p of live) {
        const events = (await store().exportProfile(site.id, p.id))!.events;
        const recount = recountProfile(p, events, p.computed, 'UTC', newId);
        expect(eventFigures(p), `seed ${seed}, profile ${p.id}`).toEqual(eventFigures(recount));
      }
    }
    // The histories did merge and split (a generator that never did would prove nothing).
    expect(done.merges).toBeGreaterThan(3);
    expect(done.splits).toBeGreaterThan(3);
  });
});
