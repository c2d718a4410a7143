import type { SiteOverview } from '../store.js';
import { overviewOf, overviewQuery, type OverviewRows } from '../sqlite/console-queries.js';

const DAY_MS = 86_400_000;
/** Rows of the "top" lists of the overview (as SQLite's). */
const TOP = 10;

/**
 * An event's JSON as PostgreSQL's json parser takes it. JSON.stringify writes NUL and unpaired
 * surrogates as escapes (\u0000, \ud800), which it refuses ("unsupported Unicode escape
 * sequence") wherever they are in the document: one such property sent by anyone with the write
 * key would fail the overview for 30 days. Paired surrogates are written as characters, so any
 * such escape is one of those, or text that ends in a backslash before it; either way replacing
 * it with \ufffd keeps the JSON valid, and touches only string content the overview never reads
 * (SQLite's json_extract takes them as they are).
 */
const parsable = (alias: string) =>
  `(CASE WHEN strpos(${alias}data, '\\u') = 0 THEN ${alias}data
     ELSE regexp_replace(${alias}data, '\\\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})', '\\\\ufffd', 'g') END)::json`;

/** The referral of an event's page view, out of its JSON; text compared byte-wise, as in SQLite. */
const referral = (field: string, alias = '') => `((${parsable(alias)} #>> '{enrichment,referral,${field}}') COLLATE "C")`;

/**
 * The statements of the console's overview: SQLite's (sqlite/console-queries.ts) in PostgreSQL's
 * dialect, each giving the row shape that `overviewOf` turns into the figures, so that both
 * stores report the same numbers. $1 site, $2 since (the first of the 30 days), $3 today, $4 the
 * first of the last 7 days.
 */
const SQL: { [K in keyof OverviewRows]: string } = {
  people: `SELECT count(*) AS "visitors", count(user_id) AS "identified",
      count(*) FILTER (WHERE last_seen >= $2 AND first_seen >= $2) AS "newVisitors",
      count(*) FILTER (WHERE last_seen >= $2 AND first_seen < $2) AS "returningVisitors"
    FROM profiles WHERE site_id = $1 AND merged_into IS NULL`,
  events: `SELECT count(*) FILTER (WHERE timestamp >= $3) AS "today", count(*) FILTER (WHERE timestamp >= $4) AS "last7Days",
      count(*) AS "last30Days"
    FROM events WHERE site_id = $1 AND timestamp >= $2`,
  daily: `SELECT timestamp / ${DAY_MS} AS "day", count(*) AS "events", count(DISTINCT profile_id) AS "visitors"
    FROM events WHERE site_id = $1 AND timestamp >= $2 GROUP BY 1`,
  // A visit is a session; its source is the referral of its first page view (the lowest seq).
  // NULLS FIRST: SQLite sorts a null (direct) source before the others.
  sources: `WITH entries AS (
      SELECT min(seq) AS seq FROM events
      WHERE site_id = $1 AND timestamp >= $2 AND type = 'page' AND session_id IS NOT NULL
      GROUP BY session_id)
    SELECT ${referral('medium', 'e.')} AS "medium", ${referral('source', 'e.')} AS "source", count(*) AS "visits"
    FROM entries JOIN events e ON e.site_id = $1 AND e.timestamp >= $2 AND e.seq = entries.seq
    WHERE ${referral('medium', 'e.')} IS NOT NULL
    GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 NULLS FIRST LIMIT ${TOP}`,
  keywords: `SELECT lower(${referral('term')}) AS "term", count(DISTINCT COALESCE(session_id, seq::text)) AS "visits"
    FROM events
    WHERE site_id = $1 AND timestamp >= $2 AND type = 'page' AND ${referral('term')} IS NOT NULL
    GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${TOP}`,
};

/**
 * The console's overview of a site as of `now`: the statements run in one read-only snapshot
 * (REPEATABLE READ), so that the figures agree with each other.
 */
export async function readOverview(
  query: (text: string, values: unknown[]) => Promise<{ rows: any[] }>,
  siteId: string,
  now: number,
): Promise<SiteOverview> {
  const overview = overviewQuery(siteId, now);
  const { site, since, today, week } = overview.params;
  const params = [site, since, today, week];
  const rows: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(SQL)) {
    // Each statement uses the parameters it needs: PostgreSQL refuses one it cannot type.
    const used = params.slice(0, Math.max(...[...text.matchAll(/\$(\d)/g)].map((m) => Number(m[1]))));
    const result = await query(text, used);
    rows[name] = name === 'people' || name === 'events' ? result.rows[0] : result.rows;
  }
  return overviewOf(rows as OverviewRows, overview);
}
