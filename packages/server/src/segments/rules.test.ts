import { describe, expect, it } from 'vitest';
import { ingestEvent } from '../test-support/events.js';
import { applyEvent } from '../profiles/computed.js';
import { emptyComputed, type ProfileRecord } from '../profiles/types.js';
import type { Rankings } from '../profiles/rankings.js';
import { compileRule } from './compile.js';
import { OPERATORS } from './rule.js';
import type { CurrentContext, Subject } from './subject.js';
import { validateRule } from './validate-rule.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 23, 12);

function subject(build: (p: ProfileRecord) => void = () => {}, current: CurrentContext | null = null, rankings: Rankings | null = null): Subject {
  const p: ProfileRecord = {
    id: 'p1',
    siteId: 's',
    userId: null,
    email: null,
    traits: {},
    traitTimes: {},
    computed: emptyComputed(),
    mergedInto: null,
    createdAt: NOW,
    updatedAt: NOW,
  };
  build(p);
  return { profileId: p.id, userId: p.userId, traits: p.traits, computed: p.computed, now: NOW, rankings, current };
}

const matches = (rule: unknown, s: Subject) => {
  const v = validateRule(rule);
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return compileRule(v.rule)(s);
};

const customer = subject(
  (p) => {
    p.userId = 'u1';
    p.traits = { firstName: 'Ana', age: 34, tags: ['family', 'beach'], address: { city: 'Porto' }, newsletter: true };
    const track = (ts: number, name: string, properties: Record<string, unknown> | null = null) =>
      applyEvent(p, ingestEvent({ type: 'track', name, timestamp: ts, properties }), () => 'x');
    applyEvent(
      p,
      ingestEvent({
        type: 'page',
        name: null,
        timestamp: NOW - 60 * DAY,
        enrichment: {
          ip: null,
          device: { type: 'desktop', os: 'Windows', browser: 'Chrome' },
          referral: { medium: 'search', source: 'Google', term: 'argentina backpacking', campaign: null, referrer: 'https://www.google.com/', landingPage: null },
          campaign: null,
          page: { url: 'https://shop.example/trips/argentina', path: '/trips/argentina', title: 'Argentina' },
          firstTouch: null,
        },
      }),
      () => 's1',
    );
    track(NOW - 40 * DAY, 'Order Completed', { revenue: 300 });
    track(NOW - 10 * DAY, 'Order Completed', { revenue: 100 });
  },
  {
    referral: { medium: 'social', source: 'Facebook', term: null, campaign: 'summer', referrer: 'https://l.facebook.com/', landingPage: null },
    page: { url: 'https://shop.example/insurance?x=1', path: '/insurance' },
    device: { type: 'mobile', os: 'iOS', browser: 'Mobile Safari' },
  },
  {
    computedAt: NOW,
    abc: new Map([['p1', 'A']]),
    rfm: new Map([['p1', { r: 5, f: 4, m: 5, score: '545' }]]),
    summary: { classes: { A: { customers: 1, revenue: 1 }, B: { customers: 0, revenue: 0 }, C: { customers: 0, revenue: 0 } }, buyers: 1, revenue: 1 },
  },
);

describe('rule evaluation: every field', () => {
  it.each([
    [{ field: 'traits.firstName', op: 'eq', value: 'ana' }, true],
    [{ field: 'traits.address.city', op: 'eq', value: 'PORTO' }, true],
    [{ field: 'traits.age', op: 'gte', value: 30 }, true],
    [{ field: 'traits.tags', op: 'contains', value: 'fam' }, true],
    [{ field: 'traits.newsletter', op: 'eq', value: true }, true],
    [{ field: 'traits.missing', op: 'exists' }, false],
    [{ field: 'computed.visits', op: 'eq', value: 3 }, true],
    [{ field: 'computed.sessions', op: 'gte', value: 1 }, true],
    [{ field: 'computed.pageviews', op: 'eq', value: 1 }, true],
    [{ field: 'computed.orders', op: 'eq', value: 2 }, true],
    [{ field: 'computed.revenue', op: 'gt', value: 399 }, true],
    [{ field: 'computed.aov', op: 'eq', value: 200 }, true],
    [{ field: 'computed.clv', op: 'eq', value: 400 }, true],
    [{ field: 'computed.predictedClv', op: 'gt', value: 400 }, true],
    [{ field: 'computed.daysSinceFirstSeen', op: 'eq', value: 60 }, true],
    [{ field: 'computed.daysSinceLastSeen', op: 'eq', value: 10 }, true],
    [{ field: 'computed.daysSinceLastOrder', op: 'lt', value: 11 }, true],
    [{ field: 'computed.abc', op: 'eq', value: 'a' }, true],
    [{ field: 'computed.rfm', op: 'startsWith', value: '5' }, true],
    [{ field: 'computed.keywords', op: 'contains', value: 'backpacking' }, true],
    [{ field: 'computed.devices', op: 'in', value: ['desktop', 'tablet'] }, true],
    [{ field: 'computed.browsers', op: 'eq', value: 'chrome' }, true],
    [{ field: 'computed.oses', op: 'eq', value: 'windows' }, true],
    [{ field: 'computed.lastPage', op: 'endsWith', value: 'argentina' }, true],
    [{ field: 'referrer.first.source', op: 'eq', value: 'google' }, true],
    [{ field: 'referrer.first.medium', op: 'eq', value: 'search' }, true],
    [{ field: 'referrer.first.term', op: 'contains', value: 'argentina' }, true],
    [{ field: 'referrer.first.campaign', op: 'exists', value: false }, true],
    [{ field: 'referrer.last.source', op: 'eq', value: 'Facebook' }, true],
    [{ field: 'referrer.last.medium', op: 'eq', value: 'social' }, true],
    [{ field: 'referrer.last.term', op: 'exists', value: false }, true],
    [{ field: 'referrer.last.campaign', op: 'eq', value: 'summer' }, true],
    [{ field: 'referrer.current.source', op: 'eq', value: 'facebook' }, true],
    [{ field: 'referrer.current.medium', op: 'neq', value: 'search' }, true],
    [{ field: 'referrer.current.term', op: 'exists' }, false],
    [{ field: 'referrer.current.campaign', op: 'eq', value: 'SUMMER' }, true],
    [{ field: 'page.url', op: 'contains', value: 'insurance?x=1' }, true],
    [{ field: 'page.path', op: 'eq', value: '/insurance' }, true],
    [{ field: 'pages.visited', op: 'contains', value: '/trips' }, true],
    [{ field: 'pages.visited', op: 'eq', value: '/insurance' }, true],
    [{ field: 'device.type', op: 'eq', value: 'mobile' }, true],
    [{ field: 'device.os', op: 'eq', value: 'ios' }, true],
    [{ field: 'device.browser', op: 'contains', value: 'safari' }, true],
    [{ field: 'identified', op: 'eq', value: true }, true],
  ])('%j → %s', (rule, expected) => {
    expect(matches(rule, customer)).toBe(expected);
  });
});

describe('rule evaluation: every operator', () => {
  const s = subject((p) => {
    p.traits = { plan: 'Gold Plus', score: 7, visitsText: '12' };
  });
  const cases: Array<[string, unknown, boolean, unknown, boolean]> = [
    // op, value that matches, expected, value that does not, expected
    ['eq', 'gold plus', true, 'gold', false],
    ['neq', 'silver', true, 'GOLD PLUS', false],
    ['contains', 'LD P', true, 'xyz', false],
    ['notContains', 'xyz', true, 'gold', false],
    ['startsWith', 'gold', true, 'plus', false],
    ['endsWith', 'PLUS', true, 'gold', false],
    ['in', ['silver', 'Gold Plus'], true, ['silver'], false],
    ['exists', true, true, false, false],
  ];
  it.each(cases)('%s', (op, yes, expectedYes, no, expectedNo) => {
    expect(matches({ field: 'traits.plan', op, value: yes }, s)).toBe(expectedYes);
    expect(matches({ field: 'traits.plan', op, value: no }, s)).toBe(expectedNo);
  });

  it.each([
    ['gt', 6, 7],
    ['gte', 7, 8],
    ['lt', 8, 7],
    ['lte', 7, 6],
  ])('%s compares numbers, and numeric text', (op, yes, no) => {
    expect(matches({ field: 'traits.score', op, value: yes }, s)).toBe(true);
    expect(matches({ field: 'traits.score', op, value: no }, s)).toBe(false);
    expect(matches({ field: 'traits.visitsText', op, value: 11 }, s)).toBe(op === 'gt' || op === 'gte');
  });

  it('treats a missing field as not equal and not containing', () => {
    expect(matches({ field: 'traits.none', op: 'neq', value: 'x' }, s)).toBe(true);
    expect(matches({ field: 'traits.none', op: 'notContains', value: 'x' }, s)).toBe(true);
    expect(matches({ field: 'traits.none', op: 'eq', value: 'x' }, s)).toBe(false);
    expect(matches({ field: 'traits.none', op: 'gt', value: 1 }, s)).toBe(false);
  });

  it('covers all twelve operators', () => {
    expect(OPERATORS).toHaveLength(12);
  });
});

describe('rule evaluation: groups and event counts', () => {
  it('combines all, any and not', () => {
    const thai = { field: 'referrer.current.term', op: 'contains', value: 'thailand' };
    const s = subject(undefined, { referral: { medium: 'search', source: 'Google', term: 'family holiday thailand', campaign: null, referrer: null, landingPage: null }, page: null, device: null });
    expect(matches({ all: [thai, { not: { field: 'identified', op: 'eq', value: true } }] }, s)).toBe(true);
    expect(matches({ any: [{ field: 'traits.x', op: 'exists' }, thai] }, s)).toBe(true);
    expect(matches({ not: thai }, s)).toBe(false);
    // On a first page view, the referral of the page is also the first and the last touch.
    expect(matches({ field: 'referrer.first.term', op: 'contains', value: 'thailand' }, s)).toBe(true);
  });

  it('counts events ever and within a window, ignoring case', () => {
    expect(matches({ event: 'Order Completed', op: 'eq', value: 2 }, customer)).toBe(true);
    expect(matches({ event: 'order completed', op: 'gte', value: 1, withinDays: 30 }, customer)).toBe(true);
    expect(matches({ event: 'Order Completed', op: 'eq', value: 1, withinDays: 30 }, customer)).toBe(true);
    expect(matches({ event: 'Order Completed', op: 'eq', value: 0, withinDays: 5 }, customer)).toBe(true);
    expect(matches({ event: 'Never Happened', op: 'eq', value: 0 }, customer)).toBe(true);
  });
});

describe('rule validation', () => {
  const error = (rule: unknown) => {
    const v = validateRule(rule);
    if (v.ok) throw new Error('expected errors');
    return `${v.errors[0].path}: ${v.errors[0].message}`;
  };
  it.each([
    [{ all: [{ field: 'page.path', op: 'eq', value: '/' }, { field: 'page.path', op: 'bigger', value: 1 }] }, /^all\[1\]\.op: unknown operator "bigger"/],
    [{ any: [] }, /^any: must be a non-empty array/],
    [{ all: [{ not: { field: 'nope.x', op: 'eq', value: 1 } }] }, /^all\[0\]\.not\.field: unknown field "nope.x"/],
    [{ field: 'computed.orders', op: 'contains', value: 'x' }, /^op: contains works on text; computed.orders is a number/],
    [{ field: 'computed.orders', op: 'gt', value: 'many' }, /^value: gt takes a number/],
    [{ field: 'page.path', op: 'gt', value: 3 }, /^op: gt compares numbers; page.path is a string/],
    [{ field: 'identified', op: 'eq', value: 'yes' }, /^value: identified is true or false/],
    [{ field: 'traits.a', op: 'in', value: [] }, /^value: in takes a non-empty array/],
    [{ field: 'traits.a', op: 'exists', value: 'yes' }, /^value: exists takes true, false or no value/],
    [{ event: 'X', op: 'contains', value: 1 }, /^op: an event count compares with eq, neq, gt, gte, lt, lte/],
    [{ event: 'X', op: 'gte', value: -1 }, /^value: must be a count/],
    [{ event: 'X', op: 'gte', value: 1, withinDays: 0 }, /^withinDays: must be a whole number of days from 1 to 399/],
    [{ event: '', op: 'gte', value: 1 }, /^event: must be an event name/],
    [{ field: 'traits.a', event: 'X', op: 'eq', value: 1 }, /^\(rule\): a condition has either field or event/],
    [{ all: [{ field: 'traits.a', op: 'eq', value: 1 }], any: [] }, /^\(rule\): a group has exactly one key/],
    [{ field: 'traits.a', op: 'eq', value: 1, extra: true }, /^extra: unknown key/],
    ['everyone', /^\(rule\): must be an object/],
    [{ hello: 1 }, /^\(rule\): must have all, any, not, field or event/],
  ])('%j', (rule, message) => {
    expect(error(rule)).toMatch(message);
  });

  it('limits nesting and size', () => {
    let deep: unknown = { field: 'traits.a', op: 'exists' };
    for (let i = 0; i < 12; i++) deep = { not: deep };
    expect(error(deep)).toMatch(/nests deeper than 8 groups/);
    const wide = { any: Array.from({ length: 101 }, () => ({ field: 'traits.a', op: 'exists' })) };
    expect(error(wide)).toMatch(/101 conditions; at most 100/);
  });
});
