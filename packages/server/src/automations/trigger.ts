import type { IngestEvent } from '../store/types.js';
import { valueTest } from '../segments/compile.js';
import type { PropertyCondition, Trigger } from './definition.js';

/** Whether a track event is the one an event trigger (or a `waitFor`, or an exit) names: ignoring case, as rules do. */
export const sameEventName = (a: string, b: string) => a === b || a.toLowerCase() === b.toLowerCase();

type PropertyTest = (properties: Record<string, unknown>) => boolean;

/**
 * Compiles a trigger's `where` into one test of an event's properties: every condition must
 * hold, each compared as the rule language compares (a bare value is `eq`).
 *
 * @example
 * compileWhere({ category: 'laptops', price: { op: 'gte', value: 500 } })({ category: 'Laptops', price: 899 }); // true
 */
export function compileWhere(where: Record<string, PropertyCondition> | undefined): PropertyTest {
  const tests = Object.entries(where ?? {}).map(([path, condition]) => {
    const keys = path.split('.');
    const test = typeof condition === 'object' ? valueTest(condition.op, condition.value) : valueTest('eq', condition);
    return (properties: Record<string, unknown>) =>
      test(keys.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined), properties));
  });
  return (properties) => tests.every((t) => t(properties));
}

/** An event trigger compiled once per catalog load: the work per ingested event is a name check and the conditions. */
export type EventMatcher = (event: IngestEvent) => boolean;

/** The matcher of an event trigger, or null for the other kinds of trigger. */
export function eventMatcher(trigger: Trigger): EventMatcher | null {
  if (!('event' in trigger)) return null;
  const test = compileWhere(trigger.where);
  return (event) => event.type === 'track' && typeof event.name === 'string' && sameEventName(event.name, trigger.event) && test(event.properties ?? {});
}

/**
 * What identifies a trigger's occurrence, so that the same occurrence starts one run however
 * often it is seen: a message by its sender and id (a client's retry, or a replay after a crash
 * before the run was written, carries the same), a first identify by the person.
 */
export const messageTriggerKey = (sender: string, messageId: string) => `m:${sender}:${messageId}`;
