import { DAILY_RETENTION_DAYS, ORDER_COMPLETED, ORDER_REFUNDED } from '../../profiles/computed.js';
import { FIELDS, MAX_RULE_DEPTH, NUMERIC_OPERATORS, OPERATORS, type FieldKind, type Operator } from '../../segments/rule.js';
import { SLOT_EVENTS } from '@rapport/protocol';

/** What the rule builder offers, derived from the rule language so that the two never drift apart. */

const LABELS: Record<string, string> = {
  'computed.visits': 'Visits',
  'computed.sessions': 'Sessions',
  'computed.pageviews': 'Page views',
  'computed.eventCount': 'Events (all kinds)',
  'computed.orders': 'Orders',
  'computed.revenue': 'Revenue',
  'computed.refunds': 'Refunds',
  'computed.aov': 'Average order value',
  'computed.clv': 'Value (CLV)',
  'computed.predictedClv': 'Predicted value',
  'computed.daysSinceFirstSeen': 'Days since the first visit',
  'computed.daysSinceLastSeen': 'Days since the last visit',
  'computed.daysSinceLastOrder': 'Days since the last order',
  'computed.abc': 'ABC class',
  'computed.rfm': 'RFM score',
  'computed.keywords': 'Search keywords (any)',
  'computed.devices': 'Devices used (any)',
  'computed.browsers': 'Browsers used (any)',
  'computed.oses': 'Systems used (any)',
  'computed.lastPage': 'Last page (path)',
  'page.url': 'This page: URL',
  'page.path': 'This page: path',
  'pages.visited': 'Pages visited (any path)',
  'device.type': 'Device type',
  'device.os': 'Operating system',
  'device.browser': 'Browser',
  identified: 'Logged in (has a user id)',
};

const TOUCH = { first: 'First visit', last: 'Latest visit', current: 'This visit' } as const;
const PART = { source: 'source', medium: 'medium', term: 'search keyword', campaign: 'campaign' } as const;

function labelOf(field: string): string {
  const [head, when, part] = field.split('.');
  if (head === 'referrer') return `${TOUCH[when as keyof typeof TOUCH]}: ${PART[part as keyof typeof PART]}`;
  return LABELS[field] ?? field;
}

function groupOf(field: string): string {
  if (field.startsWith('referrer.')) return 'Where they came from';
  if (field.startsWith('page.') || field === 'pages.visited' || field === 'computed.lastPage') return 'Pages';
  if (field.startsWith('device.') || ['computed.devices', 'computed.browsers', 'computed.oses'].includes(field)) return 'Device';
  if (['computed.orders', 'computed.revenue', 'computed.refunds', 'computed.aov', 'computed.clv', 'computed.predictedClv', 'computed.daysSinceLastOrder', 'computed.abc', 'computed.rfm'].includes(field)) {
    return 'Purchases and value';
  }
  return 'Activity';
}

const OPERATOR_LABELS: Record<Operator, string> = {
  eq: 'is',
  neq: 'is not',
  gt: 'is more than',
  gte: 'is at least',
  lt: 'is less than',
  lte: 'is at most',
  contains: 'contains',
  notContains: 'does not contain',
  startsWith: 'starts with',
  endsWith: 'ends with',
  in: 'is one of',
  exists: 'is set',
};

const TEXT_ONLY: readonly Operator[] = ['contains', 'notContains', 'startsWith', 'endsWith'];
const NUMBER_ONLY: readonly Operator[] = ['gt', 'gte', 'lt', 'lte'];

/** The operators that `validateRule` accepts for each kind of field. */
export const OPERATORS_BY_KIND: Record<FieldKind, Operator[]> = {
  number: OPERATORS.filter((o) => !TEXT_ONLY.includes(o)),
  string: OPERATORS.filter((o) => !NUMBER_ONLY.includes(o)),
  list: OPERATORS.filter((o) => !NUMBER_ONLY.includes(o)),
  boolean: ['eq', 'neq', 'exists'],
  any: [...OPERATORS],
};

/** Event names to suggest: the e-commerce spec's and the SDK's own. */
const EVENT_SUGGESTIONS = [ORDER_COMPLETED, ORDER_REFUNDED, 'Product Viewed', 'Product Added', 'Checkout Started', 'Signed Up', SLOT_EVENTS.click];

const UI_MAX_NESTING = Math.min(3, MAX_RULE_DEPTH);

/** The builder's schema, sent to the page as JSON in a data attribute. */
export function builderSchema() {
  return {
    fields: (Object.keys(FIELDS) as Array<keyof typeof FIELDS>).map((key) => ({ key, label: labelOf(key), group: groupOf(key), kind: FIELDS[key] })),
    operators: OPERATORS.map((key) => ({ key, label: OPERATOR_LABELS[key] })),
    byKind: OPERATORS_BY_KIND,
    eventOperators: NUMERIC_OPERATORS,
    maxWithinDays: DAILY_RETENTION_DAYS - 1,
    maxNesting: UI_MAX_NESTING,
    eventNames: EVENT_SUGGESTIONS,
  };
}

const valueWords = (value: unknown) =>
  Array.isArray(value) ? value.map((v) => JSON.stringify(v)).join(', ') : typeof value === 'string' ? `“${value}”` : String(value);

/** A rule in words, for lists: `Orders is at least 1 and First visit: search keyword contains “thai”`. */
export function describeRule(rule: unknown, nested = false): string {
  if (rule === null || typeof rule !== 'object') return '';
  const r = rule as Record<string, unknown>;
  const group = (parts: unknown[], joiner: string) => {
    const text = parts.map((p) => describeRule(p, true)).join(joiner);
    return nested && parts.length > 1 ? `(${text})` : text;
  };
  if (Array.isArray(r.all)) return group(r.all, ' and ');
  if (Array.isArray(r.any)) return group(r.any, ' or ');
  if ('not' in r) return `not ${describeRule(r.not, true)}`;
  const op = OPERATOR_LABELS[r.op as Operator] ?? String(r.op);
  if (typeof r.event === 'string') {
    return `“${r.event}” ${op} ${String(r.value)} times${typeof r.withinDays === 'number' ? ` in ${r.withinDays} days` : ''}`;
  }
  const field = String(r.field);
  const name = field.startsWith('traits.') ? `Trait ${field.slice(7)}` : labelOf(field);
  if (r.op === 'exists') return `${name} ${r.value === false ? 'is not set' : 'is set'}`;
  return `${name} ${op} ${valueWords(r.value)}`;
}
