import type { JsonObject } from '@rapport/protocol';
import { FIELDS, type Rule } from '../segments/rule.js';
import { validateRule } from '../segments/validate-rule.js';

/**
 * The language of an automation: what starts a run, the steps it goes through, what ends it
 * early, and how it is measured. `validateDefinition` turns a request body into these types, or
 * into every problem with the path where it sits, as `validateRule` does for segments.
 */

/** Compares one property of the triggering event: a value for equality, or an operator. */
export type PropertyCondition =
  | string
  | number
  | boolean
  | { op: 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte' | 'contains'; value: string | number | boolean }
  | { op: 'in'; value: Array<string | number> }
  | { op: 'exists'; value?: boolean };

export type Trigger =
  /** A track event of this name whose properties (dotted paths) meet every condition of `where`. */
  | { event: string; where?: Record<string, PropertyCondition> }
  | { segmentEntered: string }
  | { segmentLeft: string }
  /** A computed number (`daysSinceLastOrder`) reaching `reaches`, as 90 days without an order. */
  | { attribute: string; reaches: number }
  /** The first identify of a person: their profile gains a user id. */
  | { identified: true };

export type Action =
  | { webhook: { url: string; secret: string } }
  | { email: { subject: string; text: string; html?: string } }
  | { coupon: { prefix: string } }
  | { setTrait: Record<string, string | number | boolean | null> }
  | { tag: { add: string } | { remove: string } }
  | { offer: { id: string; days: number } };

export type Step =
  | { wait: string }
  | { waitFor: { event: string; within: string }; then: Step[]; else: Step[] }
  | { if: Rule; then: Step[]; else: Step[] }
  | Action;

/** A run ends early when the person sends `event`, or when `rule` holds before a step. */
export interface ExitRule {
  event?: string;
  rule?: Rule;
}

/** At most `runs` runs of the automation per person within `days`. */
export interface RunCap {
  runs: number;
  days: number;
}

export interface AutomationDefinition {
  trigger: Trigger;
  /** Who may enter: a segment rule on the person when the trigger fires. */
  conditions: Rule | null;
  steps: Step[];
  exit: ExitRule | null;
  /** The share of entrants kept out of every send, for the report's comparison. */
  holdoutPercent: number;
  cap: RunCap | null;
  /** What counts as converted in the report: the event within `withinDays` of a run's start. */
  goal: Goal;
}

export interface Goal {
  event: string;
  withinDays: number;
}

/** The goal of an automation that names none: an order within a week. */
export const DEFAULT_GOAL: Goal = { event: 'Order Completed', withinDays: 7 };

export interface DefinitionError {
  /** Where in the definition, e.g. `steps[1].then[0].webhook.url`. */
  path: string;
  message: string;
}

export type DefinitionValidation = { ok: true; definition: AutomationDefinition } | { ok: false; errors: DefinitionError[] };

export const DEFINITION_FIELDS = ['trigger', 'conditions', 'steps', 'exit', 'holdoutPercent', 'cap', 'goal'] as const;

/** Steps in a definition, counted through every branch: the work per run stays bounded. */
export const MAX_STEPS = 100;
/** How deep branches (`waitFor`, `if`) nest. */
export const MAX_BRANCH_DEPTH = 8;
const MAX_WHERE = 20;
const MAX_TRAITS = 20;
const MIN_DURATION_MS = 1_000;
const MAX_DURATION_MS = 365 * 86_400_000;
const DURATION = /^(\d{1,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PROPERTY_PATH = /^[A-Za-z0-9_$-]{1,100}(\.[A-Za-z0-9_$-]{1,100}){0,4}$/;
const TRAIT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const TAG = /^[A-Za-z0-9_:-]{1,64}$/;
const COUPON_PREFIX = /^[A-Z0-9-]{0,12}$/;
const SECRET = /^whsec_(?:[A-Za-z0-9+/]{4}){6,22}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const PROPERTY_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'contains', 'in', 'exists'];
const ACTIONS = ['webhook', 'email', 'coupon', 'setTrait', 'tag', 'offer'];

/**
 * A duration of the definition language in milliseconds: a whole number and a unit, `s`, `m`,
 * `h` or `d`; null when it is not one.
 *
 * @example
 * durationMs('1h'); // 3_600_000
 */
export function durationMs(text: string): number | null {
  const match = DURATION.exec(text);
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : null;
}

/**
 * Checks an automation's definition before it is saved and returns it typed, with defaults
 * (no conditions, no exit, no holdout, no cap), or every problem with its path.
 *
 * @example
 * validateDefinition({ trigger: { event: 'Product Added' }, steps: [{ waitFor: { event: 'Order Completed', within: '1h' }, else: [{ email: { subject: 'Your cart', text: 'Still thinking?' } }] }] });
 * // { ok: true, definition: { ..., holdoutPercent: 0 } }
 */
export function validateDefinition(input: Record<string, unknown>): DefinitionValidation {
  const errors: DefinitionError[] = [];
  const fail = (path: string, message: string) => errors.push({ path, message });
  const rule = (value: unknown, path: string) => {
    const result = validateRule(value);
    if (!result.ok) for (const e of result.errors) fail(e.path === '(rule)' ? path : `${path}.${e.path}`, e.message);
  };
  for (const key of Object.keys(input)) {
    if (!(DEFINITION_FIELDS as readonly string[]).includes(key)) fail(key, `unknown field; a definition has ${DEFINITION_FIELDS.join(', ')}`);
  }

  checkTrigger(input.trigger, fail);
  if (input.conditions !== undefined && input.conditions !== null) rule(input.conditions, 'conditions');

  let steps = 0;
  const visitSteps = (list: unknown, path: string, depth: number, required: boolean) => {
    if (list === undefined && !required) return;
    if (!Array.isArray(list) || (required && list.length === 0)) {
      return fail(path, required ? 'must be a non-empty array of steps' : 'must be an array of steps');
    }
    if (depth > MAX_BRANCH_DEPTH) return fail(path, `branches nest deeper than ${MAX_BRANCH_DEPTH}`);
    list.forEach((step, i) => {
      steps++;
      const at = `${path}[${i}]`;
      if (!isPlainObject(step)) return fail(at, 'must be an object: wait, waitFor, if, or an action');
      const kinds = Object.keys(step).filter((k) => k === 'wait' || k === 'waitFor' || k === 'if' || ACTIONS.includes(k));
      if (kinds.length !== 1) {
        return fail(at, `a step has exactly one of wait, waitFor, if, ${ACTIONS.join(', ')}; found ${Object.keys(step).join(', ') || 'none'}`);
      }
      const kind = kinds[0];
      const branches = kind === 'waitFor' || kind === 'if';
      onlyKeys(step, branches ? [kind, 'then', 'else'] : [kind], at, fail);
      if (kind === 'wait') checkDuration(step.wait, `${at}.wait`, fail);
      else if (kind === 'waitFor') {
        const w = step.waitFor;
        if (!isPlainObject(w)) fail(`${at}.waitFor`, 'must be { event, within }');
        else {
          onlyKeys(w, ['event', 'within'], `${at}.waitFor`, fail);
          checkEventName(w.event, `${at}.waitFor.event`, fail);
          checkDuration(w.within, `${at}.waitFor.within`, fail);
        }
      } else if (kind === 'if') rule(step.if, `${at}.if`);
      else checkAction(kind, step[kind], `${at}.${kind}`, fail);
      if (branches) {
        visitSteps(step.then, `${at}.then`, depth + 1, false);
        visitSteps(step.else, `${at}.else`, depth + 1, false);
      }
    });
  };
  visitSteps(input.steps, 'steps', 0, true);
  if (steps > MAX_STEPS) fail('steps', `has ${steps} steps counting every branch; at most ${MAX_STEPS}`);

  if (input.exit !== undefined && input.exit !== null) {
    const exit = input.exit;
    if (!isPlainObject(exit) || (exit.event === undefined && exit.rule === undefined)) fail('exit', 'must be { event?, rule? } with at least one');
    else {
      onlyKeys(exit, ['event', 'rule'], 'exit', fail);
      if (exit.event !== undefined) checkEventName(exit.event, 'exit.event', fail);
      if (exit.rule !== undefined) rule(exit.rule, 'exit.rule');
    }
  }
  const holdout = input.holdoutPercent ?? 0;
  if (typeof holdout !== 'number' || !Number.isFinite(holdout) || holdout < 0 || holdout > 90) {
    fail('holdoutPercent', 'must be a number from 0 to 90');
  }
  if (input.cap !== undefined && input.cap !== null) {
    const cap = input.cap;
    if (!isPlainObject(cap)) fail('cap', 'must be { runs, days }');
    else {
      onlyKeys(cap, ['runs', 'days'], 'cap', fail);
      if (!isWhole(cap.runs, 1, 1000)) fail('cap.runs', 'must be a whole number from 1 to 1000');
      if (!isWhole(cap.days, 1, 3650)) fail('cap.days', 'must be a whole number of days from 1 to 3650');
    }
  }
  if (input.goal !== undefined && input.goal !== null) {
    const goal = input.goal;
    if (!isPlainObject(goal)) fail('goal', 'must be { event, withinDays }');
    else {
      onlyKeys(goal, ['event', 'withinDays'], 'goal', fail);
      checkEventName(goal.event, 'goal.event', fail);
      if (!isWhole(goal.withinDays, 1, 365)) fail('goal.withinDays', 'must be a whole number of days from 1 to 365');
    }
  }
  if (errors.length) return { ok: false, errors };
  return {
    ok: true,
    definition: {
      trigger: input.trigger as Trigger,
      conditions: (input.conditions as Rule | undefined) ?? null,
      steps: withBranches(input.steps as Step[]),
      exit: (input.exit as ExitRule | undefined) ?? null,
      holdoutPercent: holdout as number,
      cap: (input.cap as RunCap | undefined) ?? null,
      goal: (input.goal as Goal | undefined) ?? DEFAULT_GOAL,
    },
  };
}

/** Fills in absent `then` and `else` branches as empty, so the runner never meets undefined. */
function withBranches(steps: Step[]): Step[] {
  return steps.map((step) =>
    'waitFor' in step || 'if' in step ? { ...step, then: withBranches(step.then ?? []), else: withBranches(step.else ?? []) } : step,
  );
}

type Fail = (path: string, message: string) => void;

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isWhole = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isScalar = (v: unknown) => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

function onlyKeys(o: Record<string, unknown>, allowed: string[], path: string, fail: Fail) {
  for (const key of Object.keys(o)) if (!allowed.includes(key)) fail(`${path}.${key}`, `unknown key; expected ${allowed.join(', ')}`);
}

function checkEventName(v: unknown, path: string, fail: Fail) {
  if (typeof v !== 'string' || v.trim() === '' || v.length > 256) fail(path, 'must be an event name (a non-empty string of at most 256 characters)');
}

function checkDuration(v: unknown, path: string, fail: Fail) {
  const ms = typeof v === 'string' ? durationMs(v) : null;
  if (ms === null || ms < MIN_DURATION_MS || ms > MAX_DURATION_MS) {
    fail(path, 'must be a duration from 1s to 365d: a whole number and s, m, h or d ("30m", "1h", "7d")');
  }
}

function checkString(v: unknown, path: string, max: number, fail: Fail, pattern?: RegExp, hint?: string) {
  if (typeof v !== 'string' || v.trim() === '') return fail(path, 'must be a non-empty string');
  if (v.length > max) return fail(path, `must have at most ${max} characters`);
  if (pattern && !pattern.test(v)) fail(path, hint ?? 'has an invalid format');
}

function checkTrigger(t: unknown, fail: Fail) {
  const kinds = ['event', 'segmentEntered', 'segmentLeft', 'attribute', 'identified'];
  if (!isPlainObject(t)) return fail('trigger', `is required: an object with one of ${kinds.join(', ')}`);
  const found = Object.keys(t).filter((k) => kinds.includes(k));
  if (found.length !== 1) return fail('trigger', `has exactly one of ${kinds.join(', ')}; found ${Object.keys(t).join(', ') || 'none'}`);
  const kind = found[0];
  if (kind === 'event') {
    onlyKeys(t, ['event', 'where'], 'trigger', fail);
    checkEventName(t.event, 'trigger.event', fail);
    if (t.where !== undefined) checkWhere(t.where, fail);
  } else if (kind === 'segmentEntered' || kind === 'segmentLeft') {
    onlyKeys(t, [kind], 'trigger', fail);
    checkString(t[kind], `trigger.${kind}`, 64, fail);
  } else if (kind === 'attribute') {
    onlyKeys(t, ['attribute', 'reaches'], 'trigger', fail);
    if (typeof t.attribute !== 'string' || (FIELDS as Record<string, string>)[`computed.${t.attribute}`] !== 'number') {
      const numeric = Object.entries(FIELDS).filter(([f, k]) => k === 'number' && f.startsWith('computed.')).map(([f]) => f.slice(9));
      fail('trigger.attribute', `must be a computed number: ${numeric.join(', ')}`);
    }
    if (typeof t.reaches !== 'number' || !Number.isFinite(t.reaches)) fail('trigger.reaches', 'must be a number');
  } else {
    onlyKeys(t, ['identified'], 'trigger', fail);
    if (t.identified !== true) fail('trigger.identified', 'must be true');
  }
}

function checkWhere(where: unknown, fail: Fail) {
  if (!isPlainObject(where)) return fail('trigger.where', 'must be an object of property conditions: { "category": "laptops" }');
  const entries = Object.entries(where);
  if (entries.length > MAX_WHERE) fail('trigger.where', `has ${entries.length} conditions; at most ${MAX_WHERE}`);
  for (const [property, condition] of entries.slice(0, MAX_WHERE)) {
    const path = `trigger.where.${property}`;
    if (!PROPERTY_PATH.test(property)) fail(path, 'is not a property path: names of letters, digits, _ $ - joined by dots, at most 5 deep');
    if (isScalar(condition)) continue;
    if (!isPlainObject(condition)) {
      fail(path, 'must be a string, number or boolean, or { op, value }');
      continue;
    }
    onlyKeys(condition, ['op', 'value'], path, fail);
    const { op, value } = condition;
    if (typeof op !== 'string' || !PROPERTY_OPS.includes(op)) fail(`${path}.op`, `unknown operator ${JSON.stringify(op)}; expected one of ${PROPERTY_OPS.join(', ')}`);
    else if (op === 'in') {
      const ok = Array.isArray(value) && value.length > 0 && value.length <= 100 && value.every((x) => typeof x === 'string' || typeof x === 'number');
      if (!ok) fail(`${path}.value`, 'in takes a non-empty array of at most 100 strings or numbers');
    } else if (op === 'exists') {
      if (value !== undefined && typeof value !== 'boolean') fail(`${path}.value`, 'exists takes true, false or no value');
    } else if (['gt', 'gte', 'lt', 'lte'].includes(op)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${path}.value`, `${op} takes a number`);
    } else if (op === 'contains') {
      if (typeof value !== 'string' || value === '') fail(`${path}.value`, 'contains takes a non-empty string');
    } else if (!isScalar(value)) fail(`${path}.value`, `${op} takes a string, number or boolean`);
  }
}

function checkAction(kind: string, a: unknown, path: string, fail: Fail) {
  if (kind === 'setTrait') {
    if (!isPlainObject(a) || Object.keys(a).length === 0) return fail(path, 'must be an object of trait names and values: { "winback": true }');
    const entries = Object.entries(a);
    if (entries.length > MAX_TRAITS) fail(path, `sets ${entries.length} traits; at most ${MAX_TRAITS}`);
    for (const [name, value] of entries.slice(0, MAX_TRAITS)) {
      if (!TRAIT_NAME.test(name)) fail(`${path}.${name}`, 'is not a trait name: a letter or _, then letters, digits or _, at most 64');
      else if (value !== null && !isScalar(value)) fail(`${path}.${name}`, 'must be a string, number, boolean or null');
      else if (typeof value === 'string' && value.length > 1000) fail(`${path}.${name}`, 'must have at most 1000 characters');
    }
    return;
  }
  if (!isPlainObject(a)) return fail(path, 'must be an object');
  if (kind === 'webhook') {
    onlyKeys(a, ['url', 'secret'], path, fail);
    checkString(a.url, `${path}.url`, 2048, fail);
    if (typeof a.url === 'string' && !isHttpUrl(a.url)) fail(`${path}.url`, 'must be an http or https URL');
    checkString(a.secret, `${path}.secret`, 200, fail, SECRET, 'must be whsec_ and 24 to 64 bytes in base64, as the console generates');
  } else if (kind === 'email') {
    onlyKeys(a, ['subject', 'text', 'html'], path, fail);
    checkString(a.subject, `${path}.subject`, 200, fail);
    if (typeof a.subject === 'string' && /[\r\n]/.test(a.subject)) fail(`${path}.subject`, 'must be one line');
    checkString(a.text, `${path}.text`, 20_000, fail);
    if (a.html !== undefined) checkString(a.html, `${path}.html`, 100_000, fail);
  } else if (kind === 'coupon') {
    onlyKeys(a, ['prefix'], path, fail);
    if (typeof a.prefix !== 'string' || !COUPON_PREFIX.test(a.prefix)) fail(`${path}.prefix`, 'must be up to 12 capital letters, digits or -');
  } else if (kind === 'tag') {
    const key = Object.keys(a);
    if (key.length !== 1 || (key[0] !== 'add' && key[0] !== 'remove')) return fail(path, 'must be { add: "tag" } or { remove: "tag" }');
    const tag = a[key[0]];
    if (typeof tag !== 'string' || !TAG.test(tag)) fail(`${path}.${key[0]}`, 'must be a tag: 1 to 64 letters, digits, _ : or -');
  } else {
    onlyKeys(a, ['id', 'days'], path, fail);
    checkString(a.id, `${path}.id`, 64, fail);
    if (!isWhole(a.days, 1, 365)) fail(`${path}.days`, 'must be a whole number of days from 1 to 365');
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

/** The definition as the store keeps it. */
export const definitionJson = (definition: AutomationDefinition) => definition as unknown as JsonObject;
