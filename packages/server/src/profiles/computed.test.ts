import { describe, expect, it } from 'vitest';
import { SLOT_EVENTS } from '@rapport/protocol';
import { ingestEvent } from '../test-support/events.js';
import type { IngestEvent, Referral } from '../store/types.js';
import { applyEvent, cleanEmail, DAILY_RETENTION_DAYS, mergeProfiles, orderAmount, setTraits } from './computed.js';
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
