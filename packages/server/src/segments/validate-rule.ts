import { DAILY_RETENTION_DAYS } from '../profiles/computed.js';
import {
  FIELDS,
  MAX_RULE_CONDITIONS,
  MAX_RULE_DEPTH,
  NUMERIC_OPERATORS,
  OPERATORS,
  type FieldKind,
  type Operator,
  type Rule,
} from './rule.js';

export interface RuleError {
  /** Where in the rule, e.g. `all[1].op`. */
  path: string;
  message: string;
}

export type RuleValidation = { ok: true; rule: Rule } | { ok: false; errors: RuleError[] };

const STRING_OPS: readonly Operator[] = ['contains', 'notContains', 'startsWith', 'endsWith'];
const GROUP_KEYS = ['all', 'any', 'not'];

/**
 * Checks a rule before it is saved and returns it typed, or every problem with the path where it
 * sits (`all[1].op: unknown operator "bigger"`).
 */
export function validateRule(input: unknown): RuleValidation {
  const errors: RuleError[] = [];
  let conditions = 0;

  const visit = (node: unknown, path: string, depth: number) => {
    const at = (suffix: string) => (path ? `${path}.${suffix}` : suffix);
    const fail = (where: string, message: string) => errors.push({ path: where || '(rule)', message });
    if (node === null || typeof node !== 'object' || Array.isArray(node)) {
      return fail(path, 'must be an object: a group (all, any, not) or a condition (field or event)');
    }
    if (depth > MAX_RULE_DEPTH) return fail(path, `nests deeper than ${MAX_RULE_DEPTH} groups`);
    const o = node as Record<string, unknown>;
    const keys = Object.keys(o);
    const group = keys.filter((k) => GROUP_KEYS.includes(k));
    if (group.length > 1 || (group.length === 1 && keys.length > 1)) {
      return fail(path, `a group has exactly one key (all, any or not), found ${keys.join(', ')}`);
    }
    if (group[0] === 'all' || group[0] === 'any') {
      const list = o[group[0]];
      if (!Array.isArray(list) || list.length === 0) return fail(at(group[0]), 'must be a non-empty array of rules');
      list.forEach((child, i) => visit(child, `${at(group[0])}[${i}]`, depth + 1));
      return;
    }
    if (group[0] === 'not') return visit(o.not, at('not'), depth + 1);

    conditions++;
    if ('field' in o && 'event' in o) return fail(path, 'a condition has either field or event, not both');
    if ('event' in o) return checkEvent(o, at, fail);
    if ('field' in o) return checkField(o, at, fail);
    return fail(path, 'must have all, any, not, field or event');
  };

  visit(input, '', 0);
  if (conditions > MAX_RULE_CONDITIONS) {
    errors.push({ path: '(rule)', message: `has ${conditions} conditions; at most ${MAX_RULE_CONDITIONS}` });
  }
  return errors.length ? { ok: false, errors } : { ok: true, rule: input as Rule };
}

type Fail = (where: string, message: string) => void;

function checkKeys(o: Record<string, unknown>, allowed: string[], at: (s: string) => string, fail: Fail) {
  for (const key of Object.keys(o)) if (!allowed.includes(key)) fail(at(key), `unknown key; a condition has ${allowed.join(', ')}`);
}

function checkOp(o: Record<string, unknown>, at: (s: string) => string, fail: Fail): Operator | null {
  if (typeof o.op !== 'string' || !(OPERATORS as readonly string[]).includes(o.op)) {
    fail(at('op'), `unknown operator ${JSON.stringify(o.op)}; expected one of ${OPERATORS.join(', ')}`);
    return null;
  }
  return o.op as Operator;
}

function checkEvent(o: Record<string, unknown>, at: (s: string) => string, fail: Fail) {
  checkKeys(o, ['event', 'op', 'value', 'withinDays'], at, fail);
  if (typeof o.event !== 'string' || o.event.trim() === '' || o.event.length > 256) {
    fail(at('event'), 'must be an event name (a non-empty string of at most 256 characters)');
  }
  const op = checkOp(o, at, fail);
  if (op && !NUMERIC_OPERATORS.includes(op)) {
    fail(at('op'), `an event count compares with ${NUMERIC_OPERATORS.join(', ')}, not ${op}`);
  }
  if (typeof o.value !== 'number' || !Number.isFinite(o.value) || o.value < 0) {
    fail(at('value'), 'must be a count (a number, 0 or more)');
  }
  if (o.withinDays !== undefined) {
    const d = o.withinDays;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > DAILY_RETENTION_DAYS - 1) {
      fail(at('withinDays'), `must be a whole number of days from 1 to ${DAILY_RETENTION_DAYS - 1}`);
    }
  }
}

/** The kind of value a field holds, or null for a field the language does not know. */
function fieldKind(field: string): FieldKind | null {
  if (field.startsWith('traits.') && field.length > 7 && field.length <= 200) return 'any';
  return (FIELDS as Record<string, FieldKind>)[field] ?? null;
}

function checkField(o: Record<string, unknown>, at: (s: string) => string, fail: Fail) {
  checkKeys(o, ['field', 'op', 'value'], at, fail);
  const kind = typeof o.field === 'string' ? fieldKind(o.field) : null;
  if (!kind) {
    return fail(
      at('field'),
      `unknown field ${JSON.stringify(o.field)}; use traits.<name>, computed.<name>, referrer.{first,last,current}.{source,medium,term,campaign}, page.url, page.path, pages.visited, device.{type,os,browser} or identified`,
    );
  }
  const op = checkOp(o, at, fail);
  if (!op) return;
  const v = o.value;
  const where = at('value');
  if (op === 'exists') {
    if (v !== undefined && typeof v !== 'boolean') fail(where, 'exists takes true, false or no value');
    return;
  }
  if (op === 'in') {
    if (!Array.isArray(v) || v.length === 0 || v.length > 1000 || !v.every((x) => typeof x === 'string' || typeof x === 'number')) {
      fail(where, 'in takes a non-empty array of strings or numbers');
    }
    return;
  }
  if (['gt', 'gte', 'lt', 'lte'].includes(op)) {
    if (kind === 'string' || kind === 'boolean' || kind === 'list') fail(at('op'), `${op} compares numbers; ${o.field} is a ${kind}`);
    else if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, `${op} takes a number`);
    return;
  }
  if (STRING_OPS.includes(op)) {
    if (kind === 'number' || kind === 'boolean') fail(at('op'), `${op} works on text; ${o.field} is a ${kind}`);
    else if (typeof v !== 'string' || v === '') fail(where, `${op} takes a non-empty string`);
    return;
  }
  // eq, neq
  if (kind === 'boolean' && typeof v !== 'boolean') return fail(where, `${o.field} is true or false`);
  if (kind === 'number' && typeof v !== 'number') return fail(where, `${o.field} is a number`);
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
    fail(where, `${op} takes a string, number or boolean`);
  }
}
