import type Database from 'better-sqlite3';
import type { CohortCounts, CohortQuery, CohortRow, FunnelCounts, FunnelStep } from '../store.js';

/**
 * The funnel and cohort reports on SQLite: their statements, and the jobs that run them in the
 * read worker (see ReadWorker). The jobs are handed over as source text (`REPORT_SOURCE`), so
 * each uses nothing but its arguments: no imports, no names of this module; the statements
 * come in their arguments too.
 */

/**
 * A page view's path, as the index `events_page_path` (migration 8) holds it: a query must
 * spell the expression exactly so for SQLite to use the index.
 */
const PAGE_PATH = `json_extract(data, '$.enrichment.page.path')`;

/**
 * The events of one step between two times, `(profile, time, seq)`: tracks through
 * `events_track_name` (migration 7), page views through `events_page_path`; both cover these
 * columns, so the table itself is not read.
 */
export function stepSql(step: FunnelStep): string {
  return 'event' in step
    ? `SELECT profile_id, timestamp, seq FROM events
       WHERE site_id = ? AND type = 'track' AND name = ? AND timestamp >= ? AND timestamp <= ?`
    : `SELECT profile_id, timestamp, seq FROM events
       WHERE site_id = ? AND type = 'page' AND ${PAGE_PATH} = ? AND timestamp >= ? AND timestamp <= ?`;
}

/**
 * The key of a person's first touch by `source` or `medium`, as the rollups key it
 * (reports/rollups.ts), from the profile's column of it (migration 13).
 */
export function touchSql(field: 'source' | 'medium'): string {
  const none = field === 'source' ? `''` : `'(none)'`;
  return `SELECT COALESCE((SELECT first_${field} FROM profiles WHERE site_id = ? AND id = ?), ${none})`;
}

/** Up to this share of a site's live profiles, cohorts walk the index of last seen; past it they read the table in order. */
const INDEX_SHARE = 0.25;

/**
 * The statements of a cohort count: the live profiles first seen in `@start`..`@end`, by
 * index (people seen since the start, when they are few) or by a pass over the table (when
 * most are), with their active days for `return` and their first touch's source when split.
 */
export function cohortSql(query: Pick<CohortQuery, 'metric' | 'bySource'>) {
  const columns = `id, first_seen, ${query.metric === 'return' ? `json_extract(computed, '$.activeDays')` : 'NULL'},
    ${query.bySource ? 'first_source' : `''`}`;
  const where = 'site_id = @site AND merged_into IS NULL AND first_seen >= @start AND first_seen < @end AND last_seen >= @start';
  return {
    seenSince: 'SELECT COUNT(*) FROM profiles INDEXED BY profiles_last_seen WHERE site_id = @site AND merged_into IS NULL AND last_seen >= @start',
    live: 'SELECT COUNT(*) FROM profiles INDEXED BY profiles_last_seen WHERE site_id = @site AND merged_into IS NULL',
    byIndex: `SELECT ${columns} FROM profiles INDEXED BY profiles_last_seen WHERE ${where}`,
    byTable: `SELECT ${columns} FROM profiles NOT INDEXED WHERE ${where}`,
    orders: `SELECT profile_id, timestamp FROM events
      WHERE site_id = @site AND type = 'track' AND name = 'Order Completed' AND timestamp >= @start AND timestamp < @end`,
    indexShare: INDEX_SHARE,
  };
}

export interface FunnelJobArgs {
  siteId: string;
  /** Each step's statement (`stepSql`) and the name or path it looks for. */
  steps: Array<{ sql: string; value: string }>;
  from: number;
  to: number;
  windowMs: number;
  /** `touchSql` of the split, if by touch. */
  touch: string | null;
  /** Answer each entrant's id and steps reached instead of groups (a split the application makes). */
  people: boolean;
}

export type FunnelJobResult = FunnelCounts & { ids?: string[]; reached?: Uint8Array };

/**
 * The funnel of `Store.funnel`, one pass over the events of each step in turn: step 1 finds
 * each person's entry (their first step-1 event of the range), then each later step the
 * earliest event of each person still in the funnel that comes after their previous step and
 * within the window of their entry; the earliest leaves the most room for the steps after it.
 * People who reached no step k stop the passes.
 */
export function funnelPeople(db: Database.Database, args: FunnelJobArgs): FunnelJobResult {
  const { siteId, steps, from, to, windowMs } = args;
  const index = new Map<string, number>();
  const ids: string[] = [];
  const start: number[] = [];
  const seq: number[] = [];
  const rows = (k: number, until: number) =>
    db.prepare(steps[k].sql).raw(true).iterate(siteId, steps[k].value, from, until) as IterableIterator<[string, number, number]>;
  for (const [p, t, s] of rows(0, to - 1)) {
    const i = index.get(p);
    if (i === undefined) {
      index.set(p, ids.length);
      ids.push(p);
      start.push(t);
      seq.push(s);
    } else if (t < start[i] || (t === start[i] && s < seq[i])) {
      start[i] = t;
      seq[i] = s;
    }
  }
  const n = ids.length;
  const reached = new Uint8Array(n).fill(1);
  const prevT = Float64Array.from(start);
  const prevS = Float64Array.from(seq);
  let still = n;
  for (let k = 1; k < steps.length && still > 0; k++) {
    const bestT = new Float64Array(n).fill(Infinity);
    const bestS = new Float64Array(n);
    for (const [p, t, s] of rows(k, to - 1 + windowMs)) {
      const i = index.get(p);
      if (i === undefined || reached[i] !== k || t > start[i] + windowMs) continue;
      if (t < prevT[i] || (t === prevT[i] && s <= prevS[i])) continue;
      if (t < bestT[i] || (t === bestT[i] && s < bestS[i])) {
        bestT[i] = t;
        bestS[i] = s;
      }
    }
    still = 0;
    for (let i = 0; i < n; i++) {
      if (bestT[i] === Infinity) continue;
      reached[i] = k + 1;
      prevT[i] = bestT[i];
      prevS[i] = bestS[i];
      still++;
    }
  }
  const total = new Array<number>(steps.length).fill(0);
  for (let i = 0; i < n; i++) for (let k = 0; k < reached[i]; k++) total[k]++;
  if (args.people) return { steps: total, ids, reached };
  if (!args.touch) return { steps: total };
  const keyOf = db.prepare(args.touch).pluck();
  const groups = new Map<string, number[]>();
  // In id order, each lookup reads near the last one in the profiles' primary key.
  const byId = Array.from({ length: n }, (_, i) => i).sort((a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));
  for (const i of byId) {
    const key = String(keyOf.get(siteId, ids[i]));
    let group = groups.get(key);
    if (!group) groups.set(key, (group = new Array<number>(steps.length).fill(0)));
    for (let k = 0; k < reached[i]; k++) group[k]++;
  }
  return { steps: total, groups: [...groups].map(([key, counts]) => ({ key, steps: counts })) };
}

export interface CohortJobArgs {
  siteId: string;
  query: CohortQuery;
  sql: ReturnType<typeof cohortSql>;
}

/**
 * The cohorts of `Store.cohorts`: one read of the profiles first seen in the cohorts' days, with
 * their active days for `return` (the days ingest saw an event of theirs: reading them from the
 * profile spares reading every event of the weeks after), and for `order` one read of the
 * range's Order Completed events. A person counts once per week, however often they came.
 */
export function cohortCounts(db: Database.Database, args: CohortJobArgs): CohortCounts {
  const { siteId, sql } = args;
  const { from, dayStarts, cohortWeeks, weeks, metric } = args.query;
  // The day (index into dayStarts) of an instant, -1 before the first.
  const dayOf = (ms: number) => {
    let lo = 0;
    let hi = dayStarts.length - 1;
    if (ms < dayStarts[0]) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (dayStarts[mid] <= ms) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const empty = (): CohortRow[] =>
    Array.from({ length: cohortWeeks }, (_, c) => ({ week: from + 7 * c, people: 0, returned: new Array<number>(weeks).fill(0) }));
  const all = empty();
  const groups = new Map<string, CohortRow[]>();
  const params = { site: siteId, start: dayStarts[0], end: dayStarts[7 * cohortWeeks] };
  const seenSince = db.prepare(sql.seenSince).pluck().get(params) as number;
  const live = db.prepare(sql.live).pluck().get(params) as number;
  const people = db.prepare(seenSince <= live * sql.indexShare ? sql.byIndex : sql.byTable).raw(true);
  // For orders: each person's cohort, group and weeks seen (a bit per week).
  const members = new Map<string, { c: number; rows: CohortRow[] | null; weeks: number }>();
  const count = (c: number, rows: CohortRow[] | null, seen: number) => {
    for (let k = 1; k <= weeks; k++) {
      if ((seen & (1 << k)) === 0) continue;
      all[c].returned[k - 1]++;
      if (rows) rows[c].returned[k - 1]++;
    }
  };
  for (const [id, firstSeen, days, source] of people.iterate(params) as IterableIterator<[string, number, string | null, string]>) {
    const c = Math.floor(dayOf(firstSeen) / 7);
    if (c < 0 || c >= cohortWeeks) continue;
    let rows: CohortRow[] | null = null;
    if (args.query.bySource) {
      rows = groups.get(source) ?? null;
      if (!rows) groups.set(source, (rows = empty()));
      rows[c].people++;
    }
    all[c].people++;
    if (metric === 'order') {
      members.set(id, { c, rows, weeks: 0 });
      continue;
    }
    let seen = 0;
    for (const day of days ? (JSON.parse(days) as number[]) : []) {
      const k = Math.floor((day - from) / 7) - c;
      if (k >= 1 && k <= weeks) seen |= 1 << k;
    }
    count(c, rows, seen);
  }
  if (metric === 'order' && members.size > 0) {
    const orders = db.prepare(sql.orders).raw(true);
    const range = { site: siteId, start: dayStarts[0], end: dayStarts[dayStarts.length - 1] };
    for (const [profileId, at] of orders.iterate(range) as IterableIterator<[string, number]>) {
      const member = members.get(profileId);
      if (!member) continue;
      const k = Math.floor(dayOf(at) / 7) - member.c;
      if (k >= 1 && k <= weeks) member.weeks |= 1 << k;
    }
    for (const member of members.values()) count(member.c, member.rows, member.weeks);
  }
  return args.query.bySource ? { cohorts: all, groups: [...groups].map(([key, cohorts]) => ({ key, cohorts })) } : { cohorts: all };
}

/** The jobs' source text for the read worker, and their entries of its `jobs`. */
export const REPORT_SOURCE = [funnelPeople, cohortCounts].map(String).join('\n');
export const REPORT_JOBS = 'funnel: (db, args) => funnelPeople(db, args), cohorts: (db, args) => cohortCounts(db, args),';
