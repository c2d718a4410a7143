import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingest } from '../collect/pipeline.js';
import { ORDER_COMPLETED } from '../profiles/computed.js';
import type { ProfileRecord } from '../profiles/types.js';
import type { Store } from '../store/store.js';
import type { IngestEvent, Referral, Site, StoredEvent } from '../store/types.js';
import { ingestEvent, pageEvent } from '../test-support/events.js';
import { createTestSite, openTestStore, type TestStore } from '../test-support/store.js';
import { dayIn } from './days.js';
import { rebuildRollups } from './rebuild.js';
import { personFacts, RollupCounter, touchKeyOf, uncountPerson } from './rollups.js';

// Random traffic (several devices per person, identifies that merge them, shared devices,
// events out of order, repeats, orders, erasures) through the one ingest pipeline, on the store
// of the run; then the rollups kept at ingest must equal (1) a recount written here from the
// stored events and profiles by the rules of reports/rollups.ts, and (2) `rollups rebuild`.

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 2, 8);
const SOURCES: Array<Partial<Referral> | null> = [
  null,
  { medium: 'direct' },
  { medium: 'search', source: 'Google', term: 'Boots' },
  { medium: 'search', source: 'Bing', term: 'red boots' },
  { medium: 'social', source: 'Facebook' },
  { medium: 'email', source: 'newsletter', campaign: 'june' },
  { medium: 'internal' },
];

/** A small deterministic generator (mulberry32), so that a failure can be replayed from its seed. */
function random(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T,>(list: T[]) => list[Math.floor(next() * list.length)] };
}

let t: TestStore;
let store: Store;
let site: Site;
beforeEach(async () => {
  t = await openTestStore();
  store = t.store;
  site = await createTestSite(store, { timeZone: 'America/New_York' });
});
afterEach(async () => {
  await t.close();
});

function traffic(seed: number, count: number): IngestEvent[][] {
  const r = random(seed);
  const devices = Array.from({ length: 12 }, (_, i) => `dev-${seed}-${i}`);
  const users = Array.from({ length: 5 }, (_, i) => `user-${seed}-${i}`);
  const batches: IngestEvent[][] = [];
  let batch: IngestEvent[] = [];
  for (let n = 0; n < count; n++) {
    // Mostly forward in time, sometimes hours back (an offline queue), over about four days.
    const at = T0 + Math.floor((n / count) * 96 * HOUR) - (r.next() < 0.1 ? r.int(30) * HOUR : 0) + r.int(40) * 60_000;
    const anonymousId = r.pick(devices);
    const kind = r.next();
    const referral = r.pick(SOURCES);
    let event: IngestEvent;
    if (kind < 0.55) {
      event = pageEvent(anonymousId, at, referral);
    } else if (kind < 0.75) {
      const revenue = 1 + r.int(20_000) / 100;
      event = ingestEvent({ type: 'track', name: ORDER_COMPLETED, anonymousId, timestamp: at, receivedAt: at, properties: { revenue }, message: { properties: { revenue } } });
    } else if (kind < 0.9) {
      event = ingestEvent({ type: 'identify', name: null, anonymousId, userId: r.pick(users), trust: 'trusted', timestamp: at, receivedAt: at });
    } else {
      event = ingestEvent({ type: 'track', name: 'Product Viewed', anonymousId, timestamp: at, receivedAt: at });
    }
    batch.push(event);
    // Now and then the same message again (a retry).
    if (r.next() < 0.05) batch.push({ ...event });
    if (batch.length >= 1 + r.int(8)) {
      batches.push(batch);
      batch = [];
    }
  }
  if (batch.length) batches.push(batch);
  return batches;
}

async function everything(): Promise<{ profiles: ProfileRecord[]; events: StoredEvent[][] }> {
  const profiles: ProfileRecord[] = [];
  const events: StoredEvent[][] = [];
  for (let after: string | null = null; ; ) {
    const page = await store.profileHistories(site.id, after, 100);
    if (!page.length) break;
    for (const h of page) (profiles.push(h.profile), events.push(h.events));
    after = page[page.length - 1].profile.id;
  }
  return { profiles, events };
}

/** The rollups as stored, shards added up, in one comparable shape. */
async function stored() {
  const days = (await store.rollupDays(site.id, 0, 100_000)).filter((d) => Object.entries(d).some(([k, v]) => k !== 'day' && v !== 0));
  const touches: Record<string, unknown[]> = {};
  for (const touch of ['session', 'first', 'last'] as const) {
    const rows = await store.rollupTouches(site.id, touch, 0, 100_000, ['medium', 'source', 'campaign', 'term']);
    touches[touch] = rows
      .filter((r) => r.visitors || r.sessions || r.customers || r.orders || r.revenue)
      .map((r) => JSON.stringify(r))
      .sort();
  }
  return { days, touches };
}

/**
 * The rules of reports/rollups.ts written out plainly, from what is stored: per event (the day of
 * its timestamp, a session on its first event, an order by the touches it carries) and per person.
 */
function recount(profiles: ProfileRecord[], events: StoredEvent[][]) {
  const counter = new RollupCounter(site.settings.timeZone);
  const tz = 'America/New_York';
  const seenSessions = new Set<string>();
  const all = events.flat().sort((a, b) => Number(a.id) - Number(b.id));
  for (const e of all) {
    const day = dayIn(Date.parse(e.timestamp), tz);
    const opens = e.sessionId !== null && !seenSessions.has(e.sessionId);
    if (e.sessionId) seenSessions.add(e.sessionId);
    counter.countEvent(day, opens ? touchKeyOf(e.enrichment.referral) : null);
    if (e.type === 'track' && e.event === ORDER_COMPLETED) {
      expect(e.enrichment.attribution).toBeDefined();
      counter.order(day, e.enrichment.attribution!, Math.round(Number(e.properties!.revenue) * 100));
    }
  }
  profiles.forEach((p, i) => {
    // The days a person was active are the days of their events.
    const days = [...new Set(events[i].map((e) => dayIn(Date.parse(e.timestamp), tz)))].sort((a, b) => a - b);
    expect(p.computed.activeDays).toEqual(days);
    counter.countPerson(personFacts(p, tz), 1);
  });
  return counter.writes();
}

describe(`rollups (${process.env.RAPPORT_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite'})`, () => {
  it.each([1, 2, 3])('equal a recount of the stored events after random traffic, merges and erasures (seed %i)', async (seed) => {
    const r = random(seed * 7919);
    let erased = 0;
    const batches = traffic(seed, 260);
    for (const [i, batch] of batches.entries()) {
      await ingest(store, site, batch);
      // Twice along the way, someone asks to be forgotten.
      if (i === 10 || i === Math.floor(batches.length / 2)) {
        const { profiles } = await everything();
        const victim = r.pick(profiles);
        await store.deleteProfile(site.id, victim.id, (p, events) => uncountPerson(p, events, site.settings.timeZone));
        erased++;
      }
    }
    expect(erased).toBe(2);
    const incremental = await stored();
    expect(incremental.days.length).toBeGreaterThan(2);
    const { profiles, events } = await everything();
    // Twelve devices of five users (and of nobody): identifies merged some of them.
    expect(profiles.length).toBeLessThan(12);
    const expected = recount(profiles, events);
    const nonZero = expected.days.filter((d) => Object.entries(d).some(([k, v]) => k !== 'day' && v !== 0));
    expect(incremental.days).toEqual(nonZero);
    for (const touch of ['session', 'first', 'last'] as const) {
      const rows = expected.touches
        .filter((x) => x.touch === touch)
        .map(({ touch: _touch, day: _day, ...rest }) => rest);
      // The recount is per day; the stored rows were summed over all days: sum the recount too.
      const summed = new Map<string, Record<string, number | string>>();
      for (const row of rows) {
        const key = JSON.stringify([row.medium, row.source, row.campaign, row.term]);
        const sum = summed.get(key) ?? { medium: row.medium, source: row.source, campaign: row.campaign, term: row.term, visitors: 0, sessions: 0, customers: 0, orders: 0, revenue: 0 };
        for (const c of ['visitors', 'sessions', 'customers', 'orders', 'revenue'] as const) (sum[c] as number) += row[c];
        summed.set(key, sum);
      }
      const want = [...summed.values()].filter((s) => s.visitors || s.sessions || s.customers || s.orders || s.revenue).map((s) => JSON.stringify(s)).sort();
      expect(incremental.touches[touch].map((s) => JSON.parse(s as string))).toEqual(want.map((s) => JSON.parse(s)));
    }
    // And a rebuild from the same rows finds the same.
    await rebuildRollups(store, site);
    expect(await stored()).toEqual(incremental);
  });
});
