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
export class ConsoleQueries {
  private readonly sql;
  private readonly overview;

  constructor(db: Database.Database) {
    this.sql = {
      people: db.prepare(
        `SELECT COUNT(*) AS visitors, COUNT(user_id) AS identified,
           COALESCE(SUM(last_seen >= @since AND first_seen >= @since), 0) AS newVisitors,
           COALESCE(SUM(last_seen >= @since AND first_seen < @since), 0) AS returningVisitors
         FROM profiles WHERE site_id = @site AND merged_into IS NULL`,
      ),
      events: db.prepare(
        `SELECT COALESCE(SUM(timestamp >= @today), 0) AS today, COALESCE(SUM(timestamp >= @week), 0) AS last7Days,
           COUNT(*) AS last30Days
         FROM events WHERE site_id = @site AND timestamp >= @since`,
      ),
      daily: db.prepare(
        `SELECT timestamp / ${DAY_MS} AS day, COUNT(*) AS events, COUNT(DISTINCT profile_id) AS visitors
         FROM events WHERE site_id = @site AND timestamp >= @since GROUP BY day`,
      ),
      // A visit is a session; its source is the referral of its first page view.
      sources: db.prepare(
        `WITH entries AS (
           SELECT MIN(seq) AS seq FROM events
           WHERE site_id = @site AND timestamp >= @since AND type = 'page' AND session_id IS NOT NULL
           GROUP BY session_id)
         SELECT json_extract(e.data, '$.enrichment.referral.medium') AS medium,
           json_extract(e.data, '$.enrichment.referral.source') AS source, COUNT(*) AS visits
         FROM entries JOIN events e ON e.seq = entries.seq
         WHERE json_extract(e.data, '$.enrichment.referral.medium') IS NOT NULL
         GROUP BY medium, source ORDER BY visits DESC, medium, source LIMIT ${TOP}`,
      ),
      keywords: db.prepare(
        `SELECT lower(json_extract(data, '$.enrichment.referral.term')) AS term,
           COUNT(DISTINCT COALESCE(session_id, seq)) AS visits
         FROM events
         WHERE site_id = @site AND timestamp >= @since AND type = 'page'
           AND json_extract(data, '$.enrichment.referral.term') IS NOT NULL
         GROUP BY 1 ORDER BY visits DESC, term LIMIT ${TOP}`,
      ),
    };
    // One read transaction: the figures of one overview come from one snapshot.
    this.overview = db.transaction((siteId: string, now: number): SiteOverview => {
      const today = Math.floor(now / DAY_MS) * DAY_MS;
      const since = today - 29 * DAY_MS;
      const params = { site: siteId, since, today, week: today - 6 * DAY_MS };
      const people = this.sql.people.get({ site: siteId, since }) as Pick<
        SiteOverview,
        'visitors' | 'identified' | 'newVisitors' | 'returningVisitors'
      >;
      const events = this.sql.events.get(params) as SiteOverview['events'];
      const perDay = new Map(
        (this.sql.daily.all({ site: siteId, since }) as Array<{ day: number; events: number; visitors: number }>).map((r) => [r.day, r]),
      );
      const daily: SiteOverview['daily'] = [];
      for (let day = since / DAY_MS; day <= today / DAY_MS; day++) {
        const row = perDay.get(day);
        daily.push({ date: new Date(day * DAY_MS).toISOString().slice(0, 10), events: row?.events ?? 0, visitors: row?.visitors ?? 0 });
      }
      return {
        ...people,
        events,
        sources: this.sql.sources.all({ site: siteId, since }) as SiteOverview['sources'],
        keywords: this.sql.keywords.all({ site: siteId, since }) as SiteOverview['keywords'],
        daily,
      };
    });
  }

  siteOverview(siteId: string, now: number): SiteOverview {
    return this.overview(siteId, now);
  }
}
