import { describe, expect, it } from 'vitest';
import { SLOT_EVENTS } from '@rapport/protocol';
import { ingestEvent } from '../test-support/events.js';
import type { IngestEvent, Referral } from '../store/types.js';
import { MAX_AMOUNT } from '@rapport/protocol';
import { compileRule } from '../segments/compile.js';
import {
  addAmount,
  applyEvent,
  cleanEmail,
  DAILY_RETENTION_DAYS,
  MAX_EVENT_NAMES,
  MAX_OFFER_VIEWS,
  MAX_PROFILE_BYTES,
  MAX_TOTAL,
  MAX_TRAIT_VALUE_BYTES,
  MAX_TRAITS,
  MAX_TRAITS_BYTES,
  mergeProfiles,
  orderAmount,
  profileBytes,
  setTraits,
} from './computed.js';
import { emptyComputed, type ProfileRecord } from './types.js';
import { computedView, countWithin } from './view.js';
import { customerValue } from './value.js';

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 9, 1, 9);
let ids = 0;
const newId = () => `s${++ids}`;

const fresh = (): ProfileRecord => ({
  id: 'p',
  siteId: 's',
  userId: null,
  email: null,
  traits: {},
  traitTimes: {},
  computed: emptyComputed(),
  mergedInto: null,
  createdAt: T0,
  updatedAt: T0,
});

const referral = (r: Partial<Referral>): Referral => ({
  medium: 'direct',
  source: null,
  term: null,
  campaign: null,
  referrer: null,
  landingPage: null,
  ...r,
});

function pageView(ts: number, path: string, r?: Partial<Referral>, campaign?: Record<string, string>): IngestEvent {
  return ingestEvent({
    type: 'page',
    name: null,
    timestamp: ts,
    enrichment: {
      ip: null,
      device: { type: 'mobile', os: 'iOS', browser: 'Mobile Safari' },
      referral: referral({ landingPage: `https://shop.example${path}`, ...r }),
      campaign: campaign ?? null,
      page: { url: `https://shop.example${path}`, path, title: path },
      firstTouch: null,
    },
  });
}
const track = (ts: number, name: string, properties: Record<string, unknown> | null = null) =>
  ingestEvent({ type: 'track', name, timestamp: ts, properties });

function replay(events: IngestEvent[]) {
  const p = fresh();
  const sessions = events.map((e) => applyEvent(p, e, newId));
  return { p, sessions };
}

describe('computed attributes', () => {
  it('counts sessions: a new one after 30 minutes of silence or when a new campaign arrives', () => {
    const { p, sessions } = replay([
      pageView(T0, '/', { medium: 'search', source: 'Google', term: 'thailand' }),
      pageView(T0 + 10 * MIN, '/a'),
      pageView(T0 + 39 * MIN, '/b'),
      pageView(T0 + 70 * MIN, '/c'), // 31 minutes after the last: new session
      pageView(T0 + 75 * MIN, '/d', { medium: 'email', source: 'newsletter', campaign: 'spring' }, { name: 'spring' }), // new campaign
      pageView(T0 + 76 * MIN, '/e', undefined, { name: 'spring' }), // same campaign: same session
    ]);
    expect(p.computed.sessions).toBe(3);
    expect(new Set(sessions).size).toBe(3);
    expect(sessions[0]).toBe(sessions[2]);
    expect(sessions[4]).toBe(sessions[5]);
    expect(p.computed.pageviews).toBe(6);
  });

  it('keeps first and last seen, last page, pages and devices', () => {
    const { p } = replay([pageView(T0 + DAY, '/late'), pageView(T0, '/early')]);
    expect(p.computed.firstSeen).toBe(T0);
    expect(p.computed.lastSeen).toBe(T0 + DAY);
    expect(p.computed.lastPage).toMatchObject({ path: '/late' });
    expect(p.computed.pages).toEqual(['/late', '/early']);
    expect(p.computed).toMatchObject({ devices: ['mobile'], oses: ['iOS'], browsers: ['Mobile Safari'] });
  });

  it('keeps first touch and the last non-direct touch, and every keyword', () => {
    const { p } = replay([
      pageView(T0, '/', { medium: 'search', source: 'Google', term: 'argentina backpacking' }),
      pageView(T0 + DAY, '/', { medium: 'social', source: 'Facebook' }),
      pageView(T0 + 2 * DAY, '/'), // direct: does not replace the last touch
      pageView(T0 + 3 * DAY, '/', { medium: 'search', source: 'Bing', term: 'Patagonia hostels' }),
    ]);
    expect(p.computed.firstTouch).toMatchObject({ medium: 'search', source: 'Google', term: 'argentina backpacking', at: T0 });
    expect(p.computed.lastTouch).toMatchObject({ medium: 'search', source: 'Bing', term: 'Patagonia hostels' });
    expect(p.computed.keywords).toEqual(['argentina backpacking', 'Patagonia hostels']);
  });

  it('takes an earlier first touch remembered by the SDK', () => {
    const event = pageView(T0 + DAY, '/');
    event.enrichment.firstTouch = { ...referral({ medium: 'search', source: 'DuckDuckGo', term: 'rain jacket' }), at: T0 };
    const { p } = replay([event]);
    expect(p.computed.firstTouch).toMatchObject({ source: 'DuckDuckGo', term: 'rain jacket', at: T0 });
    expect(p.computed.keywords).toContain('rain jacket');
  });

  it('counts each event, per day for "in the last N days"', () => {
    const now = Date.now();
    const { p } = replay([track(now - 40 * DAY, 'Order Completed', { revenue: 10 }), track(now - 5 * DAY, 'Order Completed', { revenue: 10 }), track(now, 'Viewed')]);
    expect(p.computed.events).toEqual({ 'Order Completed': 2, Viewed: 1 });
    expect(countWithin(p.computed, 'Order Completed', 30, now)).toBe(1);
    expect(countWithin(p.computed, 'Order Completed', 60, now)).toBe(2);
    expect(computedView(p.computed, p.id, now).eventsLast30Days).toEqual({ 'Order Completed': 1, Viewed: 1 });
  });

  it('keeps per-day counts within the retention only', () => {
    const now = Date.now();
    const today = Math.floor(now / DAY);
    const old = now - (DAILY_RETENTION_DAYS + 100) * DAY;
    const { p } = replay([track(old, 'Viewed'), track(now - 10 * DAY, 'Viewed'), track(old, 'Viewed'), track(now, 'Viewed'), track(now, 'Viewed')]);
    expect(p.computed.events).toEqual({ Viewed: 5 });
    expect(p.computed.daily).toEqual({ Viewed: { [today - 10]: 1, [today]: 2 } });
  });

  it('sums revenue of completed orders (revenue, else total) and subtracts refunds', () => {
    const { p } = replay([
      track(T0, 'Order Completed', { revenue: 100, total: 120 }),
      track(T0 + DAY, 'Order Completed', { total: '50.5' }),
      track(T0 + 2 * DAY, 'Order Completed', { order_id: 'no amount' }),
      track(T0 + 3 * DAY, 'Order Refunded', { total: 20 }),
    ]);
    expect(p.computed).toMatchObject({ orders: 3, revenue: 130.5, refunds: 20, firstOrderAt: T0, lastOrderAt: T0 + 2 * DAY });
    expect(orderAmount({ revenue: 'abc', total: 7 })).toBe(7);
  });

  it('derives average order value, historic and predicted lifetime value by the documented formula', () => {
    const { p } = replay([track(T0, 'Order Completed', { revenue: 100 }), track(T0 + 100 * DAY, 'Order Completed', { revenue: 50 })]);
    const now = T0 + 200 * DAY;
    const value = customerValue(p.computed, now);
    expect(value.aov).toBe(75);
    expect(value.clv).toBe(150);
    // 2 orders within the first year count as 2 a year; 100 days since the last order: activity e^(-100/365).
    const expected = 150 + 75 * 2 * 2 * Math.exp(-100 / 365);
    expect(value.predictedClv).toBeCloseTo(expected, 1);
    // Past the first year the rate is orders per year of tenure: 2 orders over 730 days.
    const later = customerValue(p.computed, T0 + 730 * DAY);
    expect(later.predictedClv).toBeCloseTo(150 + 75 * 1 * 2 * Math.exp(-630 / 365), 1);
    expect(value.predictedClv).toBeCloseTo(expected, 1);
    expect(customerValue(emptyComputed(), now)).toEqual({ aov: 0, clv: 0, predictedClv: 0 });
  });

  it('counts offer impressions per day for frequency caps', () => {
    const { p } = replay([
      ingestEvent({ type: 'track', name: SLOT_EVENTS.impression, timestamp: T0, properties: { offerId: 'off_1' } }),
      ingestEvent({ type: 'track', name: SLOT_EVENTS.impression, timestamp: T0 + 1, properties: { offerId: 'off_1' } }),
    ]);
    expect(Object.values(p.computed.offerViews.off_1)).toEqual([2]);
  });

  it('adds counters and keeps the earliest first touch when two profiles merge', () => {
    const a = replay([pageView(T0 + DAY, '/a', { medium: 'social', source: 'Facebook' }), track(T0 + DAY, 'Order Completed', { revenue: 40 })]).p;
    const b = replay([pageView(T0, '/b', { medium: 'search', source: 'Google', term: 'tents' }), track(T0, 'Order Completed', { revenue: 60 })]).p;
    b.traits = { name: 'B' };
    b.traitTimes = { name: T0 };
    mergeProfiles(a, b);
    expect(a.computed).toMatchObject({ orders: 2, revenue: 100, pageviews: 2, sessions: 2, firstSeen: T0, lastSeen: T0 + DAY });
    expect(a.computed.firstTouch).toMatchObject({ source: 'Google' });
    expect(a.computed.lastTouch).toMatchObject({ source: 'Facebook' });
    expect(a.computed.pages.sort()).toEqual(['/a', '/b']);
    expect(a.traits).toEqual({ name: 'B' });
  });

  it('keeps an email only when it is one, the same way at ingest and in a merge', () => {
    expect(cleanEmail('  Ann@Example.COM ')).toBe('ann@example.com');
    for (const bad of ['not an email', '', 42, null, `${'a'.repeat(320)}@example.com`]) expect(cleanEmail(bad)).toBeNull();
    const a = fresh();
    setTraits(a, { email: ' Ann@Example.com' }, T0);
    expect(a.email).toBe('ann@example.com');
    setTraits(a, { email: 'unknown' }, T0 + 1);
    expect(a.email).toBeNull();
    const b = fresh();
    b.email = 'old@example.com';
    setTraits(b, { email: 'nobody' }, T0 + 2);
    const into = fresh();
    into.email = 'kept@example.com';
    mergeProfiles(into, b);
    expect(into.traits.email).toBe('nobody');
    expect(into.email).toBeNull();
  });
});

/** What the store writes of a profile and a decision parses back. */
const stored = (p: ProfileRecord) => ({ traits: JSON.stringify(p.traits), traitTimes: JSON.stringify(p.traitTimes), computed: JSON.stringify(p.computed) });
const storedBytes = (p: ProfileRecord) => Object.values(stored(p)).reduce((n, json) => n + Buffer.byteLength(json), 0);
/** 150 characters, unique per i. */
const longName = (i: number, prefix = 'e') => `${prefix}${String(i).padStart(6, '0')}-`.padEnd(150, 'x');
const slack = (cap: number) => cap + cap / 4;

describe('caps of a profile', () => {
  it('keeps the most frequent event names of a flood of unique ones, with the count of those dropped', () => {
    const now = Date.now();
    const p = fresh();
    for (let i = 0; i < 30_000; i++) {
      applyEvent(p, track(now - (i % 300) * DAY, longName(i)), newId);
      if (i % 100 === 0) applyEvent(p, track(now - (i % 20) * DAY, 'Order Completed', { revenue: 10 }), newId);
      if (i % 1000 === 0) applyEvent(p, track(now, 'Newsletter Signup'), newId);
    }
    const c = p.computed;
    const names = Object.keys(c.events);
    expect(names.length).toBeLessThanOrEqual(slack(MAX_EVENT_NAMES));
    expect(Object.keys(c.daily).every((name) => name in c.events)).toBe(true);
    expect(c.eventCount).toBe(30_000 + 300 + 30);
    expect(c.events['Order Completed']).toBe(300);
    expect(c.events['Newsletter Signup']).toBe(30);
    expect(c.dropped.events).toBe(30_000 + 2 - names.length);
    expect(c.revenue).toBe(3000);
    const bytes = storedBytes(p);
    expect(bytes).toBe(profileBytes(p));
    expect(bytes).toBeLessThanOrEqual(MAX_PROFILE_BYTES);
    console.log(`30,000 unique 150-character names: profile ${bytes} bytes, ${names.length} names kept, ${c.dropped.events} dropped`);

    // Rules keep reading the names that matter, all time and per day.
    const json = stored(p);
    const subject = {
      profileId: p.id,
      userId: null,
      traits: JSON.parse(json.traits),
      computed: { ...emptyComputed(), ...JSON.parse(json.computed) },
      now,
      rankings: null,
      current: null,
    };
    expect(compileRule({ event: 'order completed', op: 'gte', value: 300 })(subject)).toBe(true);
    expect(compileRule({ event: 'Order Completed', op: 'gte', value: 1, withinDays: 30 })(subject)).toBe(true);
    expect(compileRule({ event: 'Never Sent', op: 'gte', value: 1, withinDays: 7 })(subject)).toBe(false);
  });

  it('holds a profile within its byte budget by trimming the oldest per-day counts first', () => {
    const now = Date.now();
    const p = fresh();
    // 150 names seen on each of 250 days: 37,500 per-day counts, past the budget.
    for (let day = 249; day >= 0; day--) for (let i = 0; i < 150; i++) applyEvent(p, track(now - day * DAY, `Event ${i}`), newId);
    const c = p.computed;
    expect(storedBytes(p)).toBeLessThanOrEqual(MAX_PROFILE_BYTES);
    expect(Object.keys(c.events)).toHaveLength(150);
    expect(c.events['Event 7']).toBe(250);
    expect(c.dropped.days).toBeGreaterThan(0);
    expect(c.dropped.events).toBe(0);
    // The recent days stay, the oldest went.
    expect(countWithin(c, 'Event 7', 7, now)).toBe(7);
    expect(countWithin(c, 'Event 7', 249, now)).toBeLessThan(249);
  });

  it('refuses trait keys past the cap, values past their size and traits past their bytes, and counts them', () => {
    const p = fresh();
    const many: Record<string, unknown> = {};
    for (let i = 0; i < 10_000; i++) many[`trait_${i}`] = i;
    setTraits(p, { email: 'ann@example.com' }, T0);
    setTraits(p, many, T0 + 1);
    expect(Object.keys(p.traits)).toHaveLength(MAX_TRAITS);
    expect(Object.keys(p.traitTimes)).toHaveLength(MAX_TRAITS);
    expect(p.computed.dropped.traits).toBe(10_000 - (MAX_TRAITS - 1));
    // Known keys still change; new ones are refused.
    setTraits(p, { email: 'ann@example.org', brandNew: 1 }, T0 + 2);
    expect(p.email).toBe('ann@example.org');
    expect(p.traits.brandNew).toBeUndefined();

    const q = fresh();
    setTraits(q, { bio: 'x'.repeat(MAX_TRAIT_VALUE_BYTES) }, T0);
    expect(q.traits.bio).toBeUndefined();
    for (let i = 0; i < 20; i++) setTraits(q, { [`note${i}`]: 'y'.repeat(MAX_TRAIT_VALUE_BYTES - 10) }, T0 + i);
    expect(Buffer.byteLength(JSON.stringify(q.traits))).toBeLessThanOrEqual(MAX_TRAITS_BYTES);
    expect(q.computed.dropped.traits).toBe(1 + 20 - Object.keys(q.traits).length);
  });

  it('keeps the offers viewed most recently', () => {
    const now = Date.now();
    const p = fresh();
    const view = (ts: number, offerId: string) => ingestEvent({ type: 'track', name: SLOT_EVENTS.impression, timestamp: ts, properties: { offerId } });
    applyEvent(p, view(now, 'off_current'), newId);
    for (let i = 0; i < 30_000; i++) applyEvent(p, view(now - 10 * DAY, `off_${i}`), newId);
    applyEvent(p, view(now, 'off_current'), newId);
    const offers = Object.keys(p.computed.offerViews);
    expect(offers.length).toBeLessThanOrEqual(slack(MAX_OFFER_VIEWS));
    expect(p.computed.offerViews.off_current).toBeDefined();
    expect(p.computed.offerViews.off_29999).toBeDefined();
    expect(p.computed.dropped.offerViews).toBe(30_001 - offers.length);
    expect(storedBytes(p)).toBeLessThanOrEqual(MAX_PROFILE_BYTES);
  });

  it('keeps the caps when two capped profiles merge', () => {
    const now = Date.now();
    const build = (prefix: string) => {
      const p = fresh();
      for (let i = 0; i < 2_000; i++) {
        applyEvent(p, track(now - (i % 200) * DAY, longName(i, prefix)), newId);
        applyEvent(p, ingestEvent({ type: 'track', name: SLOT_EVENTS.impression, timestamp: now - (i % 200) * DAY, properties: { offerId: `${prefix}${i}` } }), newId);
      }
      for (let i = 0; i < 5; i++) applyEvent(p, track(now, `${prefix} frequent`), newId);
      const traits: Record<string, unknown> = {};
      for (let i = 0; i < 300; i++) traits[`${prefix}${i}`] = i;
      setTraits(p, traits, T0);
      return p;
    };
    const a = build('a');
    const b = build('b');
    const dropped = { events: a.computed.dropped.events + b.computed.dropped.events, traits: a.computed.dropped.traits + b.computed.dropped.traits };
    const names = new Set([...Object.keys(a.computed.events), ...Object.keys(b.computed.events)]).size;
    mergeProfiles(a, b);
    const c = a.computed;
    expect(Object.keys(c.events).length).toBeLessThanOrEqual(MAX_EVENT_NAMES);
    expect(Object.keys(c.daily).every((name) => name in c.events)).toBe(true);
    expect(Object.keys(c.offerViews).length).toBeLessThanOrEqual(MAX_OFFER_VIEWS);
    expect(Object.keys(a.traits)).toHaveLength(MAX_TRAITS);
    expect(c.events['a frequent']).toBe(5);
    expect(c.events['b frequent']).toBe(5);
    expect(c.eventCount).toBe(2 * (4_000 + 5));
    expect(c.dropped.events).toBe(dropped.events + names - Object.keys(c.events).length);
    expect(c.dropped.traits).toBe(dropped.traits + MAX_TRAITS);
    expect(storedBytes(a)).toBeLessThanOrEqual(MAX_PROFILE_BYTES);
  });

  it('brings a profile written before the caps within them at its next event', () => {
    const now = Date.now();
    const p = fresh();
    for (let i = 0; i < 5_000; i++) {
      p.computed.events[longName(i)] = 1;
      p.computed.daily[longName(i)] = { [Math.floor(now / DAY)]: 1 };
    }
    for (let i = 0; i < 2_000; i++) {
      p.traits[`t${i}`] = 'v'.repeat(100);
      p.traitTimes[`t${i}`] = T0 + i;
    }
    applyEvent(p, track(now, 'Viewed'), newId);
    expect(storedBytes(p)).toBeLessThanOrEqual(MAX_PROFILE_BYTES);
    expect(Object.keys(p.computed.events).length).toBeLessThanOrEqual(MAX_EVENT_NAMES);
    expect(p.traits.t1999).toBeDefined();
    expect(p.traits.t0).toBeUndefined();
  });
});

describe('amounts', () => {
  it('ignores an amount past MAX_AMOUNT and never lets a total overflow', () => {
    expect(orderAmount({ revenue: 1e307, total: 12 })).toBe(12);
    expect(orderAmount({ revenue: MAX_AMOUNT })).toBe(MAX_AMOUNT);
    const { p } = replay([
      track(T0, 'Order Completed', { revenue: 100 }),
      track(T0 + 1, 'Order Completed', { revenue: 1e307 }),
      track(T0 + 2, 'Order Completed', { revenue: 1e307 }),
      track(T0 + 3, 'Order Completed', { revenue: 50 }),
    ]);
    expect(p.computed.revenue).toBe(150);
    expect(JSON.parse(JSON.stringify(p.computed)).revenue).toBe(150);
  });

  it('saturates sums instead of overflowing, and a total already broken is not reset by the next order', () => {
    expect(addAmount(MAX_TOTAL, MAX_AMOUNT)).toBe(MAX_TOTAL);
    expect(addAmount(-MAX_TOTAL, -MAX_AMOUNT)).toBe(-MAX_TOTAL);
    expect(addAmount(Infinity, 10)).toBe(MAX_TOTAL);
    const p = fresh();
    // How an overflow came back from storage before amounts were bounded: JSON wrote Infinity as null.
    p.computed.revenue = null as unknown as number;
    applyEvent(p, track(T0, 'Order Completed', { revenue: 100 }), newId);
    expect(p.computed.revenue).toBe(MAX_TOTAL);
    expect(Number.isFinite(p.computed.revenue)).toBe(true);
    const other = fresh();
    other.computed.revenue = Infinity;
    const into = fresh();
    into.computed.revenue = 10;
    mergeProfiles(into, other);
    expect(into.computed.revenue).toBe(MAX_TOTAL);
  });
});

describe('offers given by automations', () => {
  const grant = (p: ProfileRecord, offer_id: string, until: number, trust: 'trusted' | 'untrusted' = 'trusted') =>
    applyEvent(p, ingestEvent({ name: 'Offer Granted', properties: { offer_id, until }, trust, timestamp: T0 }), () => 's');

  it('keep the latest end of each, only from trusted events, and the soonest-ending go past the cap', () => {
    const p = fresh();
    grant(p, 'o1', T0 + 5);
    grant(p, 'o1', T0 + 3);
    grant(p, 'o2', T0 + 9, 'untrusted');
    expect(p.computed.grants).toEqual({ o1: T0 + 5 });
    for (let i = 0; i < 25; i++) grant(p, `x${i}`, T0 + 100 + i);
    expect(Object.keys(p.computed.grants!)).toHaveLength(20);
    expect(p.computed.grants!.o1).toBeUndefined();
  });

  it('merge to the later end of each', () => {
    const a = fresh();
    const b = { ...fresh(), id: 'q' };
    grant(a, 'o1', T0 + 5);
    grant(b, 'o1', T0 + 8);
    grant(b, 'o2', T0 + 2);
    mergeProfiles(a, b);
    expect(a.computed.grants).toEqual({ o1: T0 + 8, o2: T0 + 2 });
  });
});

describe('the vouched email', () => {
  const identify = (p: ProfileRecord, email: string | null, trust: 'trusted' | 'verified' | 'untrusted', at: number) =>
    applyEvent(p, ingestEvent({ type: 'identify', name: null, traits: { email }, trust, timestamp: at }), () => 's');

  it('is the address a trusted or verified message set last, whatever a browser typed after', () => {
    const p = fresh();
    identify(p, 'Ada@Example.com', 'untrusted', T0);
    expect(p.computed.vouchedEmail).toBeUndefined();
    identify(p, 'ada@example.com', 'verified', T0 + 1);
    identify(p, 'eve@example.com', 'untrusted', T0 + 2);
    expect([p.email, p.computed.vouchedEmail]).toEqual(['eve@example.com', 'ada@example.com']);
    identify(p, null, 'trusted', T0 + 3);
    expect(p.computed.vouchedEmail).toBeUndefined();
  });
});
