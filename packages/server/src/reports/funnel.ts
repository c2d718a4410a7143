import type { AppContext } from '../app-context.js';
import { isObject } from '../collect/validate.js';
import { invalidField, type Body } from '../http/input.js';
import type { RuleProfile } from '../profiles/types.js';
import { segmentTest } from '../segments/membership.js';
import type { FunnelCounts, FunnelSplit, FunnelStep, Store } from '../store/store.js';
import type { Site } from '../store/types.js';
import { dayStart, isoDate, rangeOf, type DayRange } from './days.js';

/**
 * Funnels: ordered steps, each a `track` event or a page path, and how many of the people who
 * did step 1 in a range of days went on to each next step within a window. The rules (see
 * docs/reports.md, "Funnels"):
 * - A person enters at their first step-1 event in the range (local days of the site's time zone).
 * - Each next step counts at the person's first such event after their previous step (strictly
 *   after: by time, and by the order the events were stored when the times are equal) and at
 *   most `withinDays` days after their entry. A step done before the previous one does not count.
 * - Events count for the profile they belong to now: after a merge, one person's devices are one.
 * - `by` splits by the source or medium of the person's first touch, or by whether they are in a
 *   segment now.
 */

const DAY_MS = 86_400_000;
export const MIN_STEPS = 2;
export const MAX_STEPS = 10;
export const MAX_WITHIN_DAYS = 90;
const MAX_EVENT_LENGTH = 200;
const MAX_PATH_LENGTH = 1000;

/** The fields of `POST /api/reports/funnel`. */
export const FUNNEL_FIELDS = ['site', 'steps', 'withinDays', 'by', 'from', 'to', 'days'] as const;

/** How a funnel is split: a field of the first touch, or a segment (by id). */
export type FunnelBy = { touch: 'source' | 'medium' } | { segment: string };

export interface FunnelRequest {
  steps: FunnelStep[];
  withinDays: number;
  range: DayRange;
  by: FunnelBy | null;
}

export interface FunnelStepFigures {
  /** The event name, or the page path. */
  label: string;
  people: number;
  /** People of this step per people of the step before it (1 for the first, 0 when it had none). */
  conversionFromPrevious: number;
  /** People of this step per people of the first step. */
  conversionFromFirst: number;
}

export interface FunnelReport {
  from: string;
  to: string;
  timeZone: string;
  withinDays: number;
  by: string | null;
  steps: FunnelStepFigures[];
  /** With `by`: the same per key (a source, a medium, or `in` and `out` of the segment), largest first. */
  groups?: Array<{ key: string; steps: FunnelStepFigures[] }>;
}

/**
 * The range of a report's `from`, `to` and `days` (see `rangeOf`), a 400 naming the field when
 * one is wrong. `fallbackDays` is the preset without any of them.
 *
 * @example
 * reportRange({ from: '2026-11-01', to: '2026-11-30' }, Date.now(), 'Europe/Berlin');
 */
export function reportRange(query: { from?: unknown; to?: unknown; days?: unknown }, now: number, timeZone: string, fallbackDays = 30): DayRange {
  const text = (field: 'from' | 'to' | 'days') => {
    const value = query[field];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'string') return value;
    if (field === 'days' && typeof value === 'number') return String(value);
    throw invalidField(field, field === 'days' ? 'must be one of 7, 30, 90' : 'must be a date as YYYY-MM-DD');
  };
  const q = { from: text('from'), to: text('to'), days: text('days') };
  if (q.from === undefined && q.to === undefined && q.days === undefined) q.days = String(fallbackDays);
  try {
    return rangeOf(q, now, timeZone);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    // rangeOf's messages are "field: reason".
    const [field, ...reason] = error.message.split(': ');
    throw invalidField(field, reason.join(': '));
  }
}

function stepOf(value: unknown, i: number): FunnelStep {
  const field = `steps[${i}]`;
  if (!isObject(value)) throw invalidField(field, 'must be an object: { "event": "Product Viewed" } or { "path": "/checkout" }');
  const keys = Object.keys(value);
  const extra = keys.find((k) => k !== 'event' && k !== 'path');
  if (extra) throw invalidField(`${field}.${extra}`, 'unknown field; a step has event or path');
  if (keys.length !== 1) throw invalidField(field, 'must have either event or path, not both');
  const text = (name: 'event' | 'path', max: number) => {
    const raw = value[name];
    if (typeof raw !== 'string') throw invalidField(`${field}.${name}`, 'must be a string');
    const trimmed = raw.trim();
    if (trimmed === '') throw invalidField(`${field}.${name}`, 'must not be empty');
    if (trimmed.length > max) throw invalidField(`${field}.${name}`, `must have at most ${max} characters`);
    return trimmed;
  };
  if ('event' in value) return { event: text('event', MAX_EVENT_LENGTH) };
  const path = text('path', MAX_PATH_LENGTH);
  if (!path.startsWith('/')) throw invalidField(`${field}.path`, 'must start with / (a path such as /checkout, without the host)');
  return { path };
}

/** `by` of a funnel: `source`, `medium` or `segment:<id>`. */
export function funnelBy(value: unknown): FunnelBy | null {
  if (value === undefined || value === null || value === '') return null;
  if (value === 'source' || value === 'medium') return { touch: value };
  if (typeof value === 'string' && value.startsWith('segment:') && value.length > 'segment:'.length) return { segment: value.slice('segment:'.length) };
  throw invalidField('by', 'must be source, medium or segment:<segment id>');
}

/**
 * A funnel request from a body (the API's JSON, or the console's form made into one): a 400
 * naming the field (`steps[1].event`, `withinDays`, `from`) when something is wrong.
 *
 * @example
 * funnelRequest({ steps: [{ event: 'Product Viewed' }, { event: 'Order Completed' }], withinDays: 7 }, site, Date.now());
 */
export function funnelRequest(body: Body, site: Site, now: number): FunnelRequest {
  const steps = body.steps;
  if (steps === undefined) throw invalidField('steps', 'is required: 2 to 10 steps, each { "event": ... } or { "path": ... }');
  if (!Array.isArray(steps)) throw invalidField('steps', 'must be an array of steps');
  if (steps.length < MIN_STEPS || steps.length > MAX_STEPS) throw invalidField('steps', `must have ${MIN_STEPS} to ${MAX_STEPS} steps`);
  const within = body.withinDays;
  if (within === undefined || within === null) throw invalidField('withinDays', `is required: the days, 1 to ${MAX_WITHIN_DAYS}, that people have for the steps after the first`);
  if (typeof within !== 'number' || !Number.isInteger(within) || within < 1 || within > MAX_WITHIN_DAYS) {
    throw invalidField('withinDays', `must be a whole number from 1 to ${MAX_WITHIN_DAYS}`);
  }
  return {
    steps: steps.map(stepOf),
    withinDays: within,
    range: reportRange(body, now, site.settings.timeZone),
    by: funnelBy(body.by),
  };
}

/**
 * The test of a funnel's segment split, or null: a 400 naming `by` for a segment the site does
 * not have.
 *
 * @example
 * const inSegment = await segmentOfSplit(ctx, site, request.by);
 */
export async function segmentOfSplit(ctx: AppContext, site: Site, by: FunnelBy | null): Promise<((profile: RuleProfile) => boolean) | null> {
  if (!by || !('segment' in by)) return null;
  if (!(await ctx.catalog.forSite(site.id)).segments.has(by.segment)) throw invalidField('by', `no segment ${by.segment} on this site`);
  return segmentTest(ctx, site.id, by.segment);
}

export const stepLabel = (step: FunnelStep) => ('event' in step ? step.event : step.path);

function figures(steps: FunnelStep[], people: number[]): FunnelStepFigures[] {
  return steps.map((step, k) => ({
    label: stepLabel(step),
    people: people[k] ?? 0,
    conversionFromPrevious: k === 0 ? (people[0] ? 1 : 0) : people[k - 1] ? people[k] / people[k - 1] : 0,
    conversionFromFirst: people[0] ? people[k] / people[0] : 0,
  }));
}

/**
 * Counts a funnel (in the store's worker or database) and shapes it: each step with its people
 * and conversions, and per group with `by` (`inSegment` is the segment's test, see
 * `segmentOfSplit`).
 *
 * @example
 * await funnelReport(store, site, funnelRequest(body, site, Date.now()), null);
 * // { steps: [{ label: 'Product Viewed', people: 120, conversionFromPrevious: 1, conversionFromFirst: 1 }, ...] }
 */
export async function funnelReport(store: Store, site: Site, request: FunnelRequest, inSegment: ((profile: RuleProfile) => boolean) | null): Promise<FunnelReport> {
  const tz = site.settings.timeZone;
  const by = request.by;
  let split: FunnelSplit | undefined;
  if (by && 'touch' in by) split = { touch: by.touch };
  else if (by) {
    if (!inSegment) throw new Error('a funnel split by segment needs the segment\'s test');
    split = { segment: inSegment };
  }
  const counts: FunnelCounts = await store.funnel(site.id, {
    steps: request.steps,
    from: dayStart(request.range.from, tz),
    to: dayStart(request.range.to + 1, tz),
    windowMs: request.withinDays * DAY_MS,
    by: split,
  });
  const report: FunnelReport = {
    from: isoDate(request.range.from),
    to: isoDate(request.range.to),
    timeZone: tz,
    withinDays: request.withinDays,
    by: by === null ? null : 'touch' in by ? by.touch : `segment:${by.segment}`,
    steps: figures(request.steps, counts.steps),
  };
  if (by) {
    let groups = counts.groups ?? [];
    if ('segment' in by) groups = ['in', 'out'].map((key) => groups.find((g) => g.key === key) ?? { key, steps: request.steps.map(() => 0) });
    else groups = [...groups].sort((a, b) => b.steps[0] - a.steps[0] || a.key.localeCompare(b.key));
    report.groups = groups.map((g) => ({ key: g.key, steps: figures(request.steps, g.steps) }));
  }
  return report;
}
