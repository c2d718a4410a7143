/**
 * The segment rule language (see DESIGN.md): groups `all`, `any`, `not`, and two kinds of
 * condition. Rules are JSON so that the console, scripts and the API share one form.
 *
 * @example
 * { "all": [
 *   { "field": "referrer.current.term", "op": "contains", "value": "thailand" },
 *   { "event": "Order Completed", "op": "gte", "value": 1, "withinDays": 30 } ] }
 */
export type Rule = AllRule | AnyRule | NotRule | FieldCondition | EventCondition;

export interface AllRule {
  all: Rule[];
}
export interface AnyRule {
  any: Rule[];
}
export interface NotRule {
  not: Rule;
}

export const OPERATORS = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'contains',
  'notContains',
  'startsWith',
  'endsWith',
  'in',
  'exists',
] as const;
export type Operator = (typeof OPERATORS)[number];

export const NUMERIC_OPERATORS: readonly Operator[] = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte'];

export interface FieldCondition {
  field: string;
  op: Operator;
  value?: unknown;
}

/** How many times an event happened, ever or within the last `withinDays` days. */
export interface EventCondition {
  event: string;
  op: Operator;
  value: number;
  withinDays?: number;
}

/**
 * The fields a condition can name, with the kind of value they hold. `traits.<name>` accepts any
 * trait (a dotted path reaches into nested traits).
 */
export const FIELDS = {
  'computed.visits': 'number',
  'computed.sessions': 'number',
  'computed.pageviews': 'number',
  'computed.eventCount': 'number',
  'computed.orders': 'number',
  'computed.revenue': 'number',
  'computed.refunds': 'number',
  'computed.aov': 'number',
  'computed.clv': 'number',
  'computed.predictedClv': 'number',
  'computed.daysSinceFirstSeen': 'number',
  'computed.daysSinceLastSeen': 'number',
  'computed.daysSinceLastOrder': 'number',
  'computed.abc': 'string',
  'computed.rfm': 'string',
  'computed.keywords': 'list',
  'computed.devices': 'list',
  'computed.browsers': 'list',
  'computed.oses': 'list',
  'computed.lastPage': 'string',
  'referrer.first.source': 'string',
  'referrer.first.medium': 'string',
  'referrer.first.term': 'string',
  'referrer.first.campaign': 'string',
  'referrer.last.source': 'string',
  'referrer.last.medium': 'string',
  'referrer.last.term': 'string',
  'referrer.last.campaign': 'string',
  'referrer.current.source': 'string',
  'referrer.current.medium': 'string',
  'referrer.current.term': 'string',
  'referrer.current.campaign': 'string',
  'page.url': 'string',
  'page.path': 'string',
  'pages.visited': 'list',
  'device.type': 'string',
  'device.os': 'string',
  'device.browser': 'string',
  identified: 'boolean',
} as const;

export type FieldKind = (typeof FIELDS)[keyof typeof FIELDS] | 'any';

/** Most nested groups in a rule, and most conditions: rules stay readable and cheap to evaluate. */
export const MAX_RULE_DEPTH = 8;
export const MAX_RULE_CONDITIONS = 100;
