import type { CohortQuery, FunnelQuery, FunnelStep } from '../store.js';
import { firstTouchSql, pgText, safeJson } from './rows.js';
import { RULE_PROFILE_COLUMNS } from '../rows.js';

/**
 * The funnel and cohort reports on PostgreSQL: statements in which the database does the
 * work, each reading only what its report needs (the events of the steps, through the indexes
 * of migrations 4 and 5; the profiles first seen in the cohorts' days and their events of the
 * weeks after). Values are always parameters; the texts vary only with the shape of the
 * query (the kinds of its steps, the metric and the split).
 */

/**
 * A page view's path, as the index `events_page_path` (migration 5) holds it: a query must spell
 * the expression exactly so for PostgreSQL to use the index.
 */
const pagePath = (data: string) => `(${safeJson(data)} -> 'enrichment' -> 'page' ->> 'path')`;

const matches = (step: FunnelStep, alias: string, param: string) =>
  'event' in step
    ? `${alias}.type = 'track' AND ${alias}.name = ${param}::text`
    : `${alias}.type = 'page' AND ${pagePath(`${alias}.data`)} = ${param}::text`;

/**
 * The funnel of `Store.funnel` as one statement's common table expressions, `s1` … `sN`: the
 * people of each step with the time and seq of their step (the earliest after their previous
 * one within the window of their entry, the earliest leaving the most room for the next), and
 * `reached`, each entrant with the number of steps reached. Parameters: $1 site, $2 from,
 * $3 to (excluded), $4 window (ms), $5 the last time a later step may have, then each step's
 * name or path ($6, $7, ...).
 */
function funnelCtes(steps: FunnelStep[]): string {
  // Each step's events are a CTE of their own, read through the step's index, so that the
  // planner joins whole sets (a hash join) rather than probing each person's events (which
  // reads the table's rows, whole messages) on a guess of how few they are.
  const ctes = steps.map(
    (step, i) => `e${i + 1} AS MATERIALIZED (
      SELECT e.profile_id, e.timestamp AS t, e.seq AS s FROM events e
      WHERE e.site_id = $1 AND ${matches(step, 'e', `$${i + 6}`)} AND e.timestamp >= $2 AND e.timestamp ${i === 0 ? '< $3' : '<= $5'})`,
  );
  ctes.push(`s1 AS MATERIALIZED (
      SELECT DISTINCT ON (profile_id) profile_id, t, s, t AS start FROM e1 ORDER BY profile_id, t, s)`);
  for (let k = 2; k <= steps.length; k++) {
    ctes.push(`s${k} AS MATERIALIZED (
      SELECT DISTINCT ON (e.profile_id) e.profile_id, e.t, e.s, p.start
      FROM s${k - 1} p JOIN e${k} e ON e.profile_id = p.profile_id
      WHERE (e.t > p.t OR (e.t = p.t AND e.s > p.s)) AND e.t <= p.start + $4
      ORDER BY e.profile_id, e.t, e.s)`);
  }
  const later = steps.slice(1).map((_, i) => `s${i + 2}`);
  ctes.push(`reached AS (
    SELECT s1.profile_id, 1${later.map((s) => ` + (${s}.profile_id IS NOT NULL)::int`).join('')} AS n
    FROM s1${later.map((s) => ` LEFT JOIN ${s} ON ${s}.profile_id = s1.profile_id`).join('')})`);
  return `WITH ${ctes.join(',\n')}`;
}

/** The values of `funnelSql`'s parameters; names and paths as ingest stores them (NUL as U+FFFD). */
export function funnelParams(siteId: string, query: FunnelQuery): unknown[] {
  const values = query.steps.map((step) => pgText('event' in step ? step.event : step.path));
  return [siteId, query.from, query.to, query.windowMs, query.to - 1 + query.windowMs, ...values];
}

/**
 * The funnel's counts: rows `(key, n, people)`, the people of each key who reached exactly `n`
 * steps; the key is '' without a split, else the source or medium of their first touch.
 */
export function funnelSql(steps: FunnelStep[], touch: 'source' | 'medium' | null): string {
  if (!touch) return `${funnelCtes(steps)}\nSELECT '' AS key, n, count(*) AS people FROM reached GROUP BY n`;
  return `${funnelCtes(steps)}
    SELECT ${firstTouchSql('pr', touch)} AS key, r.n, count(*) AS people
    FROM reached r LEFT JOIN profiles pr ON pr.site_id = $1 AND pr.id = r.profile_id
    GROUP BY 1, 2`;
}

/** Each entrant with the steps they reached, `(profile_id, n)`: for a split the application makes (a segment). */
export function funnelPeopleSql(steps: FunnelStep[]): string {
  return `${funnelCtes(steps)}\nSELECT profile_id, n FROM reached`;
}

/** What a rule reads of the profiles of a site with these ids, for a split by segment. */
export const RULE_PROFILES_BY_ID_SQL = `SELECT ${RULE_PROFILE_COLUMNS} FROM profiles WHERE site_id = $1 AND id = ANY($2::text[])`;

/**
 * The cohorts of `Store.cohorts` as one statement, with its values: rows `(c, key, k, people)`,
 * the people of cohort `c` (weeks from the first) and key who came back or ordered in week `k`
 * after theirs, and with k = 0 each cohort's size. Days are `width_bucket` of the day starts:
 * no time zone in the database.
 */
export function cohortStatement(siteId: string, query: CohortQuery): { text: string; values: unknown[] } {
  const { dayStarts, cohortWeeks } = query;
  const people = `people AS MATERIALIZED (
    SELECT id, (width_bucket(first_seen, :starts::bigint[]) - 1) / 7 AS c,
      ${query.bySource ? firstTouchSql('p', 'source') : `''`} AS key
    FROM profiles p
    WHERE site_id = :site AND merged_into IS NULL AND first_seen >= :start AND first_seen < :end AND last_seen >= :start)`;
  // Coming back is any event, read from the index of each profile's events by time (no table
  // rows, and only the months of the range's partitions): cheaper here than parsing each
  // profile's active days out of its JSON text.
  const which = query.metric === 'order' ? ` AND e.type = 'track' AND e.name = 'Order Completed'` : '';
  const hits = `hits AS (
    SELECT DISTINCT p.id, p.c, p.key, (width_bucket(e.timestamp, :starts::bigint[]) - 1) / 7 - p.c AS k
    FROM events e JOIN people p ON p.id = e.profile_id
    WHERE e.site_id = :site AND e.timestamp >= :start AND e.timestamp < :last${which})`;
  const text = `WITH ${people}, ${hits}
    SELECT c, key, k, count(*) AS people FROM hits WHERE k BETWEEN 1 AND :weeks::int GROUP BY c, key, k
    UNION ALL
    SELECT c, key, 0 AS k, count(*) AS people FROM people GROUP BY c, key`;
  return numbered(text, {
    site: siteId,
    starts: dayStarts,
    start: dayStarts[0],
    end: dayStarts[7 * cohortWeeks],
    last: dayStarts[dayStarts.length - 1],
    weeks: query.weeks,
  });
}

/** `:name` placeholders as `$1`, `$2` ... in order of first use, with their values: only the names used. */
function numbered(text: string, values: Record<string, unknown>): { text: string; values: unknown[] } {
  const order: string[] = [];
  const out = text.replace(/(?<!:):([a-z]+)/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`no value for :${name}`);
    if (!order.includes(name)) order.push(name);
    return `$${order.indexOf(name) + 1}`;
  });
  return { text: out, values: order.map((name) => values[name]) };
}
