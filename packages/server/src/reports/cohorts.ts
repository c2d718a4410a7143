import { invalidField } from '../http/input.js';
import type { CohortRow, Store } from '../store/store.js';
import type { Site } from '../store/types.js';
import { dayIn, dayStart, isoDate, type DayRange } from './days.js';
import { reportRange } from './funnel.js';

/**
 * Retention cohorts: people by the week they were first seen (weeks start on Monday, in the
 * site's time zone), and the share of each week's people who came back (`return`: any event)
 * or bought (`order`: an Order Completed) in each of the 12 weeks after. The rules (see
 * docs/reports.md, "Retention cohorts"):
 * - The range is widened to whole weeks: from the Monday of its first day to the Sunday of its
 *   last; 90 days ending today without one.
 * - A person is a live profile; their first-seen time is the earliest of their events (after a
 *   merge, of either profile's), and they come back in week k when they have an event (an
 *   order) on a day of the k-th week after their cohort's week. Once a week, however often.
 * - Weeks that have not begun yet are left out, so the newest cohorts have fewer; the current
 *   week is still filling up.
 * - `by=source` splits by the source of the person's first touch ('' when none, direct).
 */

export const RETENTION_WEEKS = 12;
export type RetentionMetric = 'return' | 'order';

export interface RetentionRequest {
  metric: RetentionMetric;
  bySource: boolean;
  /** Whole weeks, Monday to Sunday. */
  range: DayRange;
}

export interface CohortFigures {
  /** The cohort's Monday, YYYY-MM-DD. */
  week: string;
  people: number;
  /** `weeks[k - 1]`: the share of the cohort who came back (or ordered) in week k after, for the weeks begun. */
  weeks: number[];
}

export interface RetentionReport {
  from: string;
  to: string;
  timeZone: string;
  metric: RetentionMetric;
  by: 'source' | null;
  cohorts: CohortFigures[];
  /** With `by=source`: the same per source, most people first. */
  groups?: Array<{ key: string; cohorts: CohortFigures[] }>;
}

/** The Monday of the week of a day (day 0, 1970-01-01, was a Thursday). */
export const mondayOf = (day: number) => day - ((((day + 3) % 7) + 7) % 7);

/**
 * A retention request from a query string (`by`, `metric`, `from`, `to`, `days`): a 400 naming
 * the field when one is wrong.
 *
 * @example
 * retentionRequest({ metric: 'order', by: 'source' }, site, Date.now()); // the last 90 days, as whole weeks
 */
export function retentionRequest(q: Record<string, string | undefined>, site: Site, now: number): RetentionRequest {
  const metric = q.metric || 'return';
  if (metric !== 'return' && metric !== 'order') throw invalidField('metric', 'must be return or order');
  const by = q.by || undefined;
  if (by !== undefined && by !== 'source') throw invalidField('by', 'must be source (or absent)');
  const range = reportRange(q, now, site.settings.timeZone, 90);
  return { metric, bySource: by === 'source', range: { from: mondayOf(range.from), to: mondayOf(range.to) + 6 } };
}

/**
 * Counts the cohorts (in the store's worker or database) and shapes them: shares per week
 * after, the weeks not begun left out, cohorts that begin after today too.
 *
 * @example
 * await retentionReport(store, site, retentionRequest({}, site, now), now);
 * // { cohorts: [{ week: '2026-11-02', people: 310, weeks: [0.26, 0.13, ...] }, ...] }
 */
export async function retentionReport(store: Store, site: Site, request: RetentionRequest, now: number): Promise<RetentionReport> {
  const tz = site.settings.timeZone;
  const { from, to } = request.range;
  const cohortWeeks = (to - from + 1) / 7;
  const dayStarts = Array.from({ length: 7 * (cohortWeeks + RETENTION_WEEKS) + 1 }, (_, i) => dayStart(from + i, tz));
  const counts = await store.cohorts(site.id, { from, dayStarts, cohortWeeks, weeks: RETENTION_WEEKS, metric: request.metric, bySource: request.bySource });
  const today = dayIn(now, tz);
  const shape = (rows: CohortRow[]): CohortFigures[] =>
    rows
      .filter((r) => r.week <= today)
      .map((r) => {
        const begun = Math.min(RETENTION_WEEKS, Math.floor((today - r.week) / 7));
        return { week: isoDate(r.week), people: r.people, weeks: r.returned.slice(0, begun).map((n) => (r.people ? n / r.people : 0)) };
      });
  const report: RetentionReport = {
    from: isoDate(from),
    to: isoDate(to),
    timeZone: tz,
    metric: request.metric,
    by: request.bySource ? 'source' : null,
    cohorts: shape(counts.cohorts),
  };
  if (request.bySource) {
    const size = (rows: CohortRow[]) => rows.reduce((sum, r) => sum + r.people, 0);
    report.groups = [...(counts.groups ?? [])]
      .sort((a, b) => size(b.cohorts) - size(a.cohorts) || a.key.localeCompare(b.key))
      .map((g) => ({ key: g.key, cohorts: shape(g.cohorts) }));
  }
  return report;
}
