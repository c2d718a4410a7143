import type Database from 'better-sqlite3';
import type { SiteOverview } from '../store.js';

const DAY_MS = 86_400_000;
/** Rows of the "top" lists of the overview. */
const TOP = 10;

/**
 * The aggregates of the console's overview. They read the last 30 days of events through the
 * `events_site_time` index (migration 3) and the profiles of the site once; no rows are kept
 * for them at ingest, so that collecting stays as cheap as it was. Sources and keywords unpack
 * the JSON of page views in that window: enough for a console that a person opens, not for a
 * dashboard polled every second.
 */
const SQL = {
  people: `SELECT COUNT(*) AS visitors, COUNT(user_id) AS identified,
      COALESCE(SUM(last_seen >= @since AND first_seen >= @since), 0) AS newVisitors,
      COALESCE(SUM(last_seen >= @since AND first_seen < @since), 0) AS returningVisitors
    FROM profiles WHERE site_id = @site AND merged_into IS NULL`,
  events: `SELECT COALESCE(SUM(timestamp >= @today), 0) AS today, COALESCE(SUM(timestamp >= @week), 0) AS last7Days,
      COUNT(*) AS last30Days
    FROM events WHERE site_id = @site AND timestamp >= @since`,
  daily: `SELECT timestamp / ${DAY_MS} AS day, COUNT(*) AS events, COUNT(DISTINCT profile_id) AS visitors
    FROM events WHERE site_id = @site AND timestamp >= @since GROUP BY day`,
  // A visit is a session; its source is the referral of its first page view.
  sources: `WITH entries AS (
      SELECT MIN(seq) AS seq FROM events
      WHERE site_id = @site AND timestamp >= @since AND type = 'page' AND session_id IS NOT NULL
      GROUP BY session_id)
    SELECT json_extract(e.data, '$.enrichment.referral.medium') AS medium,
      json_extract(e.data, '$.enrichment.referral.source') AS source, COUNT(*) AS visits
    FROM entries JOIN events e ON e.seq = entries.seq
    WHERE json_extract(e.data, '$.enrichment.referral.medium') IS NOT NULL
    GROUP BY medium, source ORDER BY visits DESC, medium, source LIMIT ${TOP}`,
  keywords: `SELECT lower(json_extract(data, '$.enrichment.referral.term')) AS term,
      COUNT(DISTINCT COALESCE(session_id, seq)) AS visits
    FROM events
    WHERE site_id = @site AND timestamp >= @since AND type = 'page'
      AND json_extract(data, '$.enrichment.referral.term') IS NOT NULL
    GROUP BY 1 ORDER BY visits DESC, term LIMIT ${TOP}`,
};

type Statements = typeof SQL;
interface Params {
  site: string;
  since: number;
  today: number;
  week: number;
}
export type OverviewRows = { [K in keyof Statements]: unknown };

/**
 * Runs the statements in one read transaction, so that the figures come from one snapshot.
 * Self-contained on purpose (no imports, no closure): the read worker runs it from its source text.
 */
export function readOverviewRows(db: Database.Database, { sql, params }: { sql: Statements; params: Params }): OverviewRows {
  return db.transaction(() => {
    const rows: Record<string, unknown> = {};
    for (const [name, text] of Object.entries(sql)) {
      const statement = db.prepare(text);
      rows[name] = name === 'people' || name === 'events' ? statement.get(params) : statement.all(params);
    }
    return rows as OverviewRows;
  })();
}

/** What the overview reads, in the worker (`overview` job) or in place; see `overviewOf`. */
export function overviewQuery(siteId: string, now: number) {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return { sql: SQL, params: { site: siteId, since: today - 29 * DAY_MS, today, week: today - 6 * DAY_MS } };
}

export type OverviewQuery = ReturnType<typeof overviewQuery>;

/** The overview of its rows. */
export function overviewOf(rows: OverviewRows, { params }: OverviewQuery): SiteOverview {
  const people = rows.people as Pick<SiteOverview, 'visitors' | 'identified' | 'newVisitors' | 'returningVisitors'>;
  const perDay = new Map((rows.daily as Array<{ day: number; events: number; visitors: number }>).map((r) => [r.day, r]));
  const daily: SiteOverview['daily'] = [];
  for (let day = params.since / DAY_MS; day <= params.today / DAY_MS; day++) {
    const row = perDay.get(day);
    daily.push({ date: new Date(day * DAY_MS).toISOString().slice(0, 10), events: row?.events ?? 0, visitors: row?.visitors ?? 0 });
  }
  return {
    ...people,
    events: rows.events as SiteOverview['events'],
    sources: rows.sources as SiteOverview['sources'],
    keywords: rows.keywords as SiteOverview['keywords'],
    daily,
  };
}
