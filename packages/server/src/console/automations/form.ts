import { DEFAULT_GOAL, type AutomationDefinition } from '../../automations/definition.js';
import { HttpError } from '../../http/errors.js';
import type { Body } from '../../http/input.js';
import type { AutomationRecord } from '../../store/automations.js';
import { FIELDS } from '../../segments/rule.js';

/**
 * The automation builder's fields as the browser sends them (text, whatever was typed), and
 * their translation into a body of the admin API, so that `automationFrom` validates the form
 * with the API's messages and paths.
 */

export const TRIGGER_KINDS = ['event', 'segmentEntered', 'segmentLeft', 'attribute', 'identified'] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

export const TRIGGER_LABELS: Record<TriggerKind, string> = {
  event: 'An event happens',
  segmentEntered: 'Someone enters a segment',
  segmentLeft: 'Someone leaves a segment',
  attribute: 'A computed number reaches a value',
  identified: 'Someone identifies for the first time',
};

/** The computed numbers a trigger may watch (`daysSinceLastOrder`), from the rule language. */
export const TRIGGER_ATTRIBUTES = Object.entries(FIELDS)
  .filter(([field, kind]) => kind === 'number' && field.startsWith('computed.'))
  .map(([field]) => field.slice('computed.'.length));

export interface AutomationValues {
  name: string;
  status: string;
  triggerKind: string;
  triggerEvent: string;
  /** Property conditions of an event trigger as JSON text; empty: none. */
  triggerWhere: string;
  triggerSegment: string;
  triggerAttribute: string;
  triggerReaches: string;
  /** A segment rule as JSON text; empty: everyone may enter. */
  conditions: string;
  holdoutPercent: string;
  capRuns: string;
  capDays: string;
  exitEvent: string;
  exitRule: string;
  /** What the report counts as converted; an empty event is the default goal. */
  goalEvent: string;
  goalDays: string;
  /** The definition's `steps` array as JSON text. */
  steps: string;
}

const KEYS: Array<keyof AutomationValues> = [
  'name', 'status', 'triggerKind', 'triggerEvent', 'triggerWhere', 'triggerSegment', 'triggerAttribute', 'triggerReaches',
  'conditions', 'holdoutPercent', 'capRuns', 'capDays', 'exitEvent', 'exitRule', 'goalEvent', 'goalDays', 'steps',
];

const json = (value: unknown) => JSON.stringify(value, null, 2);

/** What a new automation starts from: a cart reminder, as a draft. */
export const NEW_AUTOMATION: AutomationValues = {
  name: '',
  status: 'draft',
  triggerKind: 'event',
  triggerEvent: 'Product Added',
  triggerWhere: '',
  triggerSegment: '',
  triggerAttribute: 'daysSinceLastOrder',
  triggerReaches: '90',
  conditions: '',
  holdoutPercent: '10',
  capRuns: '1',
  capDays: '7',
  exitEvent: 'Order Completed',
  exitRule: '',
  goalEvent: DEFAULT_GOAL.event,
  goalDays: String(DEFAULT_GOAL.withinDays),
  steps: json([
    {
      waitFor: { event: 'Order Completed', within: '1h' },
      else: [{ email: { subject: 'Still thinking about it, {{traits.firstName|friend}}?', text: 'Your cart is waiting for you.' } }],
    },
  ]),
};

export function formValues(form: Record<string, unknown>): AutomationValues {
  const out = { ...NEW_AUTOMATION };
  for (const key of KEYS) out[key] = typeof form[key] === 'string' ? (form[key] as string) : '';
  return out;
}

/** The builder's fields of a saved automation. */
export function automationValues(a: AutomationRecord): AutomationValues {
  const d = a.definition as unknown as AutomationDefinition;
  const t = d.trigger as Record<string, unknown>;
  const kind = TRIGGER_KINDS.find((k) => k in t) ?? 'event';
  return {
    name: a.name,
    status: a.status,
    triggerKind: kind,
    triggerEvent: kind === 'event' ? String(t.event) : '',
    triggerWhere: kind === 'event' && t.where !== undefined ? json(t.where) : '',
    triggerSegment: kind === 'segmentEntered' || kind === 'segmentLeft' ? String(t[kind]) : '',
    triggerAttribute: kind === 'attribute' ? String(t.attribute) : NEW_AUTOMATION.triggerAttribute,
    triggerReaches: kind === 'attribute' ? String(t.reaches) : NEW_AUTOMATION.triggerReaches,
    conditions: d.conditions ? json(d.conditions) : '',
    holdoutPercent: String(d.holdoutPercent),
    capRuns: d.cap ? String(d.cap.runs) : '',
    capDays: d.cap ? String(d.cap.days) : '',
    exitEvent: d.exit?.event ?? '',
    exitRule: d.exit?.rule ? json(d.exit.rule) : '',
    goalEvent: (d.goal ?? DEFAULT_GOAL).event,
    goalDays: String((d.goal ?? DEFAULT_GOAL).withinDays),
    steps: json(d.steps),
  };
}

/** A number when the text is one, the text itself otherwise (the validator then names the problem). */
function numberish(value: string, fallback?: number): unknown {
  const t = value.trim();
  if (t === '') return fallback;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

/**
 * The form as a body of the admin API. Text that is not JSON is a 400 naming each such field by
 * the path the API would use (`steps`, `trigger.where`, `exit.rule`), before anything else is
 * checked: what it meant cannot be known.
 */
export function automationBody(v: AutomationValues): Body {
  const details: Array<{ field: string; message: string }> = [];
  const parse = (text: string, field: string): unknown => {
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch (error) {
      details.push({ field, message: `is not valid JSON (${(error as Error).message})` });
      return undefined;
    }
  };
  const where = parse(v.triggerWhere, 'trigger.where');
  const conditions = parse(v.conditions, 'conditions');
  const exitRule = parse(v.exitRule, 'exit.rule');
  const steps = v.steps.trim() === '' ? undefined : parse(v.steps, 'steps');
  if (details.length) throw new HttpError(400, `${details[0].field}: ${details[0].message}`, details);

  const kind = v.triggerKind as TriggerKind;
  // An unknown kind (a hand-made request) stays empty: the validator says which kinds there are.
  let trigger: Record<string, unknown> = {};
  if (kind === 'event') trigger = where === undefined ? { event: v.triggerEvent.trim() } : { event: v.triggerEvent.trim(), where };
  else if (kind === 'segmentEntered') trigger = { segmentEntered: v.triggerSegment };
  else if (kind === 'segmentLeft') trigger = { segmentLeft: v.triggerSegment };
  else if (kind === 'attribute') trigger = { attribute: v.triggerAttribute, reaches: numberish(v.triggerReaches) };
  else if (kind === 'identified') trigger = { identified: true };

  const exitEvent = v.exitEvent.trim();
  const exit = exitEvent === '' && exitRule === undefined ? null : { ...(exitEvent ? { event: exitEvent } : {}), ...(exitRule === undefined ? {} : { rule: exitRule }) };
  return {
    name: v.name,
    status: v.status,
    trigger,
    conditions: conditions ?? null,
    // Absent steps are the validator's "must be a non-empty array of steps" at `steps`.
    steps,
    exit,
    holdoutPercent: numberish(v.holdoutPercent, 0),
    cap: v.capRuns.trim() === '' && v.capDays.trim() === '' ? null : { runs: numberish(v.capRuns), days: numberish(v.capDays) },
    // No goal event: the definition's default goal.
    goal: v.goalEvent.trim() === '' ? null : { event: v.goalEvent.trim(), withinDays: numberish(v.goalDays, DEFAULT_GOAL.withinDays) },
  };
}

/**
 * The builder's input that a path of the API's details is about: `trigger.where.price.op` is
 * the where conditions, `cap` the runs of the cap. Paths under `steps` are all the steps' JSON.
 */
export function inputOf(path: string | undefined): keyof AutomationValues | null {
  if (!path) return null;
  const head = (prefix: string) => path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
  if (head('steps')) return 'steps';
  if (head('trigger.where')) return 'triggerWhere';
  if (path === 'trigger.event') return 'triggerEvent';
  if (path === 'trigger.segmentEntered' || path === 'trigger.segmentLeft') return 'triggerSegment';
  if (path === 'trigger.attribute') return 'triggerAttribute';
  if (path === 'trigger.reaches') return 'triggerReaches';
  if (head('trigger')) return 'triggerKind';
  if (head('conditions')) return 'conditions';
  if (head('exit.rule')) return 'exitRule';
  if (head('exit')) return 'exitEvent';
  if (path === 'goal.withinDays') return 'goalDays';
  if (head('goal')) return 'goalEvent';
  if (path === 'cap.days') return 'capDays';
  if (head('cap')) return 'capRuns';
  if (path === 'holdoutPercent' || path === 'name' || path === 'status') return path;
  return null;
}
