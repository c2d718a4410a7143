import type { MergeRecord } from '../store/types.js';
import { dayNumber } from './computed.js';
import { abcOf, type Rankings } from './rankings.js';
import type { Computed, ProfileRecord, Touch } from './types.js';
import { customerValue } from './value.js';

const DAY_MS = 86_400_000;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The computed attributes as people and rules read them: stored counters plus what derives from
 * them at read time (days since, value figures, ABC and RFM of the site's rankings).
 */
export function computedView(c: Computed, profileId: string, now: number, rankings?: Rankings | null) {
  const value = customerValue(c, now);
  const rfm = rankings?.rfm.get(profileId) ?? null;
  return {
    firstSeen: iso(c.firstSeen),
    lastSeen: iso(c.lastSeen),
    daysSinceFirstSeen: daysSince(c.firstSeen, now),
    daysSinceLastSeen: daysSince(c.lastSeen, now),
    visits: c.sessions,
    sessions: c.sessions,
    pageviews: c.pageviews,
    eventCount: c.eventCount,
    events: c.events,
    eventsLast30Days: countsWithin(c, 30, now),
    orders: c.orders,
    revenue: c.revenue,
    refunds: c.refunds,
    aov: value.aov,
    clv: value.clv,
    predictedClv: value.predictedClv,
    firstOrderAt: iso(c.firstOrderAt),
    lastOrderAt: iso(c.lastOrderAt),
    firstTouch: touchView(c.firstTouch),
    lastTouch: touchView(c.lastTouch),
    keywords: c.keywords,
    devices: c.devices,
    browsers: c.browsers,
    oses: c.oses,
    lastPage: c.lastPage && { ...c.lastPage, at: iso(c.lastPage.at) },
    pagesVisited: c.pages,
    // What the per-profile caps left out: a profile that shows some had more than it keeps.
    dropped: c.dropped,
    // Null until the site's cached rankings include this buyer (they refresh every ten minutes).
    abc: abcOf(rankings, profileId, c.revenue),
    rfm: rfm?.score ?? null,
    rfmScores: rfm ? { r: rfm.r, f: rfm.f, m: rfm.m } : null,
    // Per purpose, as the person's latest `Consent Updated` said.
    consent: Object.fromEntries(Object.entries(c.consent ?? {}).map(([purpose, r]) => [purpose, { granted: r.granted, at: iso(r.at), trust: r.trust }])),
  };
}

export type ComputedView = ReturnType<typeof computedView>;

/** Whole days from `ms` to `now`, or null when it never happened (`computed.daysSince*`). */
export const daysSince = (ms: number | null, now: number) => (ms === null ? null : Math.floor((now - ms) / DAY_MS));

/** How many times each event happened in the last `days` days (today included). */
export function countsWithin(c: Computed, days: number, now: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.keys(c.daily)) {
    const n = countWithin(c, name, days, now);
    if (n > 0) out[name] = n;
  }
  return out;
}

export function countWithin(c: Computed, name: string, days: number, now: number): number {
  return sumWithin(c.daily[name], days, now);
}

/** The sum of per-day counts (UTC day number → count) over the last `days` days, today included. */
export function sumWithin(perDay: Record<string, number> | undefined, days: number, now: number): number {
  if (!perDay) return 0;
  const first = dayNumber(now) - days + 1;
  let n = 0;
  for (const day in perDay) if (Number(day) >= first) n += perDay[day];
  return n;
}

const touchView = (t: Touch | null) => t && { ...t, at: iso(t.at) };

export function mergeView(m: MergeRecord) {
  return {
    id: m.id ?? null,
    at: iso(m.at),
    rule: m.rule,
    from: m.from,
    into: m.into,
    ids: m.ids,
    messageId: m.messageId,
    by: m.by ?? null,
    undoneAt: m.undoneAt ? iso(m.undoneAt) : null,
  };
}

/** A profile in lists: who, and the figures a marketer scans. */
export function profileSummary(p: ProfileRecord, now: number, rankings?: Rankings | null) {
  return {
    id: p.id,
    siteId: p.siteId,
    userId: p.userId,
    email: p.email,
    traits: p.traits,
    computed: computedView(p.computed, p.id, now, rankings),
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
  };
}
