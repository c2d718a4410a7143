import { abcOf } from '../profiles/rankings.js';
import { countWithin, daysSince } from '../profiles/view.js';
import { customerValue } from '../profiles/value.js';
import type { Touch } from '../profiles/types.js';
import type { Referral } from '../store/types.js';
import type { EventCondition, FieldCondition, Operator, Rule } from './rule.js';
import type { Subject } from './subject.js';

/** A rule turned into a function: compiled once when saved, run in memory for each decision. */
export type Predicate = (subject: Subject) => boolean;

/**
 * Compiles a validated rule. Field lookups are resolved here, once, so that evaluation is a walk
 * over closures with no parsing or string dispatch.
 */
export function compileRule(rule: Rule): Predicate {
  if ('all' in rule) {
    const parts = rule.all.map(compileRule);
    return (s) => parts.every((p) => p(s));
  }
  if ('any' in rule) {
    const parts = rule.any.map(compileRule);
    return (s) => parts.some((p) => p(s));
  }
  if ('not' in rule) {
    const inner = compileRule(rule.not);
    return (s) => !inner(s);
  }
  if ('event' in rule) return compileEvent(rule);
  return compileField(rule);
}

/** The fields a rule reads. */
export function ruleFields(rule: Rule): string[] {
  if ('all' in rule) return rule.all.flatMap(ruleFields);
  if ('any' in rule) return rule.any.flatMap(ruleFields);
  if ('not' in rule) return ruleFields(rule.not);
  return 'field' in rule ? [rule.field] : [];
}

/** Whether a rule reads ABC or RFM, which need the site-wide rankings (see `computedReader`). */
export const usesRankings = (rule: Rule) => ruleFields(rule).some((f) => f === 'computed.abc' || f === 'computed.rfm');

function compileEvent(rule: EventCondition): Predicate {
  const compare = numberComparison(rule.op, rule.value);
  const wanted = rule.event.toLowerCase();
  // Event names are matched ignoring case, like every string of the rule language.
  const nameIn = (names: Record<string, unknown>) => {
    if (rule.event in names) return rule.event;
    for (const name in names) if (name.toLowerCase() === wanted) return name;
    return null;
  };
  return (s) => {
    const name = nameIn(rule.withinDays ? s.computed.daily : s.computed.events);
    const count = name === null ? 0 : rule.withinDays ? countWithin(s.computed, name, rule.withinDays, s.now) : s.computed.events[name];
    return compare(count);
  };
}

function compileField(rule: FieldCondition): Predicate {
  const read = accessor(rule.field);
  const test = valueTest(rule.op, rule.value);
  return (s) => test(read(s));
}

type Read = (s: Subject) => unknown;

/** The reader of a field; referral and device fall back on history when the page says nothing. */
function accessor(field: string): Read {
  if (field.startsWith('traits.')) {
    const path = field.slice(7).split('.');
    return (s) => path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), s.traits);
  }
  const [head, middle, tail] = field.split('.');
  if (head === 'computed') return computedReader(middle);
  if (head === 'referrer') {
    const key = tail as keyof Touch & keyof Referral;
    if (middle === 'current') return (s) => s.current?.referral?.[key] ?? null;
    if (middle === 'first') return (s) => (s.computed.firstTouch ?? external(s))?.[key] ?? null;
    return (s) => (external(s) ?? s.computed.lastTouch)?.[key] ?? null;
  }
  if (head === 'page') return middle === 'url' ? (s) => s.current?.page?.url ?? null : (s) => s.current?.page?.path ?? null;
  if (field === 'pages.visited') {
    return (s) => {
      const path = s.current?.page?.path;
      return path && !s.computed.pages.includes(path) ? [...s.computed.pages, path] : s.computed.pages;
    };
  }
  if (head === 'device') {
    const list = middle === 'type' ? 'devices' : middle === 'os' ? 'oses' : 'browsers';
    return (s) => s.current?.device?.[middle as 'type' | 'os' | 'browser'] ?? s.computed[list].at(-1) ?? null;
  }
  if (field === 'identified') return (s) => s.userId !== null;
  throw new Error(`unknown field ${field}`);
}

/** The referral of this page when it comes from outside the site. */
const external = (s: Subject) => {
  const r = s.current?.referral;
  return r && r.medium !== 'internal' && r.medium !== 'direct' ? r : null;
};

function computedReader(name: string): Read {
  switch (name) {
    case 'visits':
      return (s) => s.computed.sessions;
    case 'aov':
    case 'clv':
    case 'predictedClv':
      return (s) => customerValue(s.computed, s.now)[name];
    case 'daysSinceFirstSeen':
      return (s) => daysSince(s.computed.firstSeen, s.now);
    case 'daysSinceLastSeen':
      return (s) => daysSince(s.computed.lastSeen, s.now);
    case 'daysSinceLastOrder':
      return (s) => daysSince(s.computed.lastOrderAt, s.now);
    case 'abc':
      return (s) => (s.profileId ? abcOf(s.rankings, s.profileId, s.computed.revenue) : null);
    case 'rfm':
      return (s) => (s.rankings && s.profileId ? (s.rankings.rfm.get(s.profileId)?.score ?? null) : null);
    case 'lastPage':
      return (s) => s.computed.lastPage?.path ?? null;
    default:
      return (s) => (s.computed as unknown as Record<string, unknown>)[name] ?? null;
  }
}

const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);

/** Value tests: strings ignore case; a list matches when any element does (none, for neq and notContains). */
/**
 * The test of one operator against an expected value, as the rule language compares: strings
 * ignoring case, numbers from numeric strings too, a list when any item passes (every item, for
 * the negative operators). Automations' event conditions compare the same way.
 *
 * @example
 * valueTest('gte', 10)('12'); // true
 */
export function valueTest(op: Operator, expected: unknown): (actual: unknown) => boolean {
  if (op === 'exists') {
    const want = expected !== false;
    return (a) => (Array.isArray(a) ? a.length > 0 : a !== null && a !== undefined && a !== '') === want;
  }
  const one = scalarTest(op, expected);
  const negative = op === 'neq' || op === 'notContains';
  return (a) => {
    if (Array.isArray(a)) return negative ? a.every(one) : a.some(one);
    if (a === null || a === undefined) return negative;
    return one(a);
  };
}

function scalarTest(op: Operator, expected: unknown): (actual: unknown) => boolean {
  const e = lower(expected);
  switch (op) {
    case 'eq':
      return (a) => same(a, e);
    case 'neq':
      return (a) => !same(a, e);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const compare = numberComparison(op, expected as number);
      return (a) => {
        const n = typeof a === 'number' ? a : typeof a === 'string' && a.trim() !== '' ? Number(a) : NaN;
        return !Number.isNaN(n) && compare(n);
      };
    }
    case 'contains':
      return (a) => String(lower(a)).includes(e as string);
    case 'notContains':
      return (a) => !String(lower(a)).includes(e as string);
    case 'startsWith':
      return (a) => String(lower(a)).startsWith(e as string);
    case 'endsWith':
      return (a) => String(lower(a)).endsWith(e as string);
    case 'in': {
      const set = (expected as unknown[]).map(lower);
      return (a) => set.some((x) => same(a, x));
    }
    default:
      return () => false;
  }
}

/** Equality across the types a trait may have: numbers compare as numbers, the rest as text. */
function same(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'number') {
    const n = typeof actual === 'number' ? actual : typeof actual === 'string' && actual.trim() !== '' ? Number(actual) : NaN;
    return n === expected;
  }
  if (typeof expected === 'boolean') return actual === expected || String(lower(actual)) === String(expected);
  return String(lower(actual)) === expected;
}

function numberComparison(op: Operator, value: number): (n: number) => boolean {
  switch (op) {
    case 'eq':
      return (n) => n === value;
    case 'neq':
      return (n) => n !== value;
    case 'gt':
      return (n) => n > value;
    case 'gte':
      return (n) => n >= value;
    case 'lt':
      return (n) => n < value;
    default:
      return (n) => n <= value;
  }
}
