import type { Database } from 'better-sqlite3';

/**
 * Numbered migrations, applied in order on open. The number of the last applied one is kept in
 * the database itself (`schema_migrations`), so a file made by an older version opens in a newer
 * one. Never edit a migration that has shipped: add the next number.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'sites, profiles, identities, events, merges',
    sql: `
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );

      CREATE TABLE sites (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        write_key TEXT NOT NULL UNIQUE,
        secret TEXT NOT NULL UNIQUE,
        origins TEXT NOT NULL,
        settings TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );

      -- One person. A profile merged into another stays as a tombstone (merged_into set, data
      -- emptied) so that links to its old id still lead somewhere. A rowid table on purpose: its
      -- rows (about a kilobyte of JSON) fit in a page, where a WITHOUT ROWID table would spill
      -- each into an overflow page. Small columns come first and the JSON last, so that scans
      -- of the small ones (rankings) stop reading early.
      CREATE TABLE profiles (
        site_id TEXT NOT NULL REFERENCES sites(id),
        id TEXT NOT NULL,
        user_id TEXT,
        email TEXT,
        first_seen INTEGER,
        last_seen INTEGER,
        -- Copied out of computed for the site-wide rankings (ABC, RFM), which read every profile.
        orders INTEGER NOT NULL DEFAULT 0,
        revenue REAL NOT NULL DEFAULT 0,
        last_order_at INTEGER,
        merged_into TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        traits TEXT NOT NULL,
        trait_times TEXT NOT NULL,
        computed TEXT NOT NULL,
        PRIMARY KEY (site_id, id)
      );
      CREATE INDEX profiles_merged ON profiles (site_id, merged_into) WHERE merged_into IS NOT NULL;
      -- Live profiles always have a last_seen (they are made by an event); lists run newest first.
      CREATE INDEX profiles_last_seen ON profiles (site_id, last_seen DESC, id) WHERE merged_into IS NULL;
      CREATE INDEX profiles_user ON profiles (site_id, user_id) WHERE user_id IS NOT NULL;
      CREATE INDEX profiles_email ON profiles (site_id, email) WHERE email IS NOT NULL;

      CREATE TABLE identities (
        site_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (site_id, kind, value)
      ) WITHOUT ROWID;
      -- profile_id first: with site_id first, a planner without statistics prefers the primary
      -- key's (site_id) prefix and scans every identity of the site.
      CREATE INDEX identities_profile ON identities (profile_id, site_id);

      -- sender: the anonymous id of the message, else its user id. Message ids are unique per
      -- sender, which keeps the rows of one batch together in the index (see senderOf).
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        site_id TEXT NOT NULL,
        sender TEXT NOT NULL,
        message_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        type TEXT NOT NULL,
        name TEXT,
        anonymous_id TEXT,
        user_id TEXT,
        session_id TEXT,
        timestamp INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        data TEXT NOT NULL
      );
      CREATE UNIQUE INDEX events_sender ON events (site_id, sender, message_id);
      CREATE INDEX events_profile ON events (site_id, profile_id, timestamp);
      CREATE INDEX events_user ON events (site_id, user_id) WHERE user_id IS NOT NULL;

      -- The history of every merge (and every anonymous id that moved to another user).
      CREATE TABLE merges (
        seq INTEGER PRIMARY KEY,
        site_id TEXT NOT NULL,
        into_profile TEXT NOT NULL,
        from_profile TEXT,
        rule TEXT NOT NULL,
        ids TEXT NOT NULL,
        message_id TEXT,
        at INTEGER NOT NULL
      );
      CREATE INDEX merges_into ON merges (site_id, into_profile);
      CREATE INDEX merges_from ON merges (site_id, from_profile);
    `,
  },
  {
    version: 2,
    name: 'segments, offers, offer events',
    sql: `
      CREATE TABLE segments (
        site_id TEXT NOT NULL REFERENCES sites(id),
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT,
        rule TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (site_id, id)
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX segments_name ON segments (site_id, name);

      CREATE TABLE offers (
        site_id TEXT NOT NULL REFERENCES sites(id),
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        slot TEXT NOT NULL,
        segment_id TEXT,
        priority INTEGER NOT NULL,
        status TEXT NOT NULL,
        content TEXT NOT NULL,
        starts_at INTEGER,
        ends_at INTEGER,
        cap TEXT,
        control_percent REAL NOT NULL,
        goal TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (site_id, id)
      ) WITHOUT ROWID;
      CREATE INDEX offers_segment ON offers (site_id, segment_id);

      -- Impressions, clicks and control exposures attributed to offers, written at ingest from
      -- the SDK's slot events, so that reports need not scan every event.
      CREATE TABLE offer_events (
        seq INTEGER PRIMARY KEY,
        site_id TEXT NOT NULL,
        offer_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        timestamp INTEGER NOT NULL
      );
      CREATE INDEX offer_events_offer ON offer_events (site_id, offer_id, kind, timestamp);
      CREATE INDEX offer_events_profile ON offer_events (site_id, profile_id);
    `,
  },
  {
    version: 3,
    name: 'events by site and time, for the console overview',
    sql: `
      -- The console's overview counts and groups the last days of a site's events.
      CREATE INDEX events_site_time ON events (site_id, timestamp);
    `,
  },
  {
    version: 4,
    name: 'leases on work that runs once',
    sql: `
      -- Work that must run once for all processes (see Store.lease): who holds it, until when.
      CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 5,
    name: 'console sessions shared by every process',
    sql: `
      -- By a hash of the cookie's value: a copy of the database logs no one in.
      CREATE TABLE console_sessions (
        id_hash TEXT PRIMARY KEY,
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX console_sessions_created ON console_sessions (created_at);
    `,
  },
  {
    version: 6,
    name: 'rollups: per-day figures kept at ingest',
    sql: `
      -- Per site and local day (the site's time zone, see reports/days.ts); revenue in cents. A
      -- store shared by nodes spreads each day over shards so that concurrent writers rarely
      -- wait on one row; SQLite has one writer and uses shard 0. See reports/rollups.ts.
      CREATE TABLE rollup_days (
        site_id TEXT NOT NULL,
        day INTEGER NOT NULL,
        shard INTEGER NOT NULL DEFAULT 0,
        events INTEGER NOT NULL DEFAULT 0,
        visitors INTEGER NOT NULL DEFAULT 0,
        new_visitors INTEGER NOT NULL DEFAULT 0,
        sessions INTEGER NOT NULL DEFAULT 0,
        orders INTEGER NOT NULL DEFAULT 0,
        revenue INTEGER NOT NULL DEFAULT 0,
        customers INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (site_id, day, shard)
      ) WITHOUT ROWID;
      -- The same by touch: 'session' (a session's entry), 'first' and 'last' (the buyer's touches).
      CREATE TABLE rollup_touches (
        site_id TEXT NOT NULL,
        day INTEGER NOT NULL,
        touch TEXT NOT NULL,
        medium TEXT NOT NULL,
        source TEXT NOT NULL,
        campaign TEXT NOT NULL,
        term TEXT NOT NULL,
        shard INTEGER NOT NULL DEFAULT 0,
        visitors INTEGER NOT NULL DEFAULT 0,
        sessions INTEGER NOT NULL DEFAULT 0,
        customers INTEGER NOT NULL DEFAULT 0,
        orders INTEGER NOT NULL DEFAULT 0,
        revenue INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (site_id, day, touch, medium, source, campaign, term, shard)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 7,
    name: 'track events by name and time, for funnels and cohorts',
    sql: `
      -- The funnel and cohort reports read the events of a few names over a range of days
      -- (store/sqlite/report-queries.ts); with the profile id in the index they never read the
      -- table, whose rows hold the whole message.
      CREATE INDEX events_track_name ON events (site_id, name, timestamp, profile_id) WHERE type = 'track';
    `,
  },
  {
    version: 8,
    name: 'page views by path and time, for funnels',
    sql: `
      -- Funnel steps that are a page path. The path is in the JSON of the row; a query must spell
      -- the expression exactly as here for SQLite to use the index.
      CREATE INDEX events_page_path ON events (site_id, json_extract(data, '$.enrichment.page.path'), timestamp, profile_id)
        WHERE type = 'page';
    `,
  },
  {
    version: 9,
    name: 'automations and their runs',
    sql: `
      CREATE TABLE automations (
        site_id TEXT NOT NULL REFERENCES sites(id),
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        definition TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (site_id, id)
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX automations_name ON automations (site_id, name);

      -- A run outlives its automation (its history stays readable), so no foreign key to it.
      CREATE TABLE automation_runs (
        site_id TEXT NOT NULL REFERENCES sites(id),
        id TEXT NOT NULL,
        automation_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        trigger_key TEXT NOT NULL,
        holdout INTEGER NOT NULL,
        status TEXT NOT NULL,
        position TEXT NOT NULL,
        context TEXT NOT NULL,
        due_at INTEGER,
        waiting_for TEXT,
        attempts INTEGER NOT NULL,
        lease_holder TEXT,
        lease_until INTEGER,
        started_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (site_id, id)
      ) WITHOUT ROWID;
      -- One run per trigger: a retried or twice-seen trigger starts nothing more.
      CREATE UNIQUE INDEX automation_runs_trigger ON automation_runs (site_id, automation_id, trigger_key);
      -- The scheduler's queue: what falls due next, across sites.
      CREATE INDEX automation_runs_due ON automation_runs (due_at) WHERE status = 'active' AND due_at IS NOT NULL;
      CREATE INDEX automation_runs_profile ON automation_runs (site_id, profile_id, waiting_for);
      CREATE INDEX automation_runs_started ON automation_runs (site_id, automation_id, started_at);
    `,
  },
  {
    version: 10,
    name: 'automation sends',
    sql: `
      -- One row per email or webhook that went out (a step of a run, so a retry is the same row):
      -- what the per-person send cap counts and the automation report reads.
      CREATE TABLE automation_sends (
        site_id TEXT NOT NULL REFERENCES sites(id),
        run_id TEXT NOT NULL,
        position TEXT NOT NULL,
        automation_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        opened_at INTEGER,
        clicked_at INTEGER,
        PRIMARY KEY (site_id, run_id, position)
      ) WITHOUT ROWID;
      CREATE INDEX automation_sends_profile ON automation_sends (site_id, profile_id, sent_at);
      CREATE INDEX automation_sends_automation ON automation_sends (site_id, automation_id);
    `,
  },
  {
    version: 11,
    name: 'merge details',
    sql: `
      -- Who merged by hand, what a split needs to restore, and when a split undid the merge (JSON).
      ALTER TABLE merges ADD COLUMN detail TEXT;
    `,
  },
  {
    version: 12,
    name: 'recommendations',
    sql: `
      -- The catalog: imported by the feed, or observed in e-commerce events.
      CREATE TABLE products (
        site_id TEXT NOT NULL REFERENCES sites(id),
        product_id TEXT NOT NULL,
        sku TEXT,
        name TEXT,
        price REAL,
        currency TEXT,
        category TEXT,
        url TEXT,
        image_url TEXT,
        available INTEGER,
        source TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (site_id, product_id)
      ) WITHOUT ROWID;
      -- One trained model per site (JSON), replaced by each training.
      CREATE TABLE recommendation_models (
        site_id TEXT PRIMARY KEY REFERENCES sites(id),
        trained_at INTEGER NOT NULL,
        stats TEXT NOT NULL,
        data TEXT NOT NULL
      );
    `,
  },
  {
    version: 13,
    name: 'first touch columns',
    sql: `
      -- The source and medium of a profile's first touch, as the rollups key them ('' and
      -- '(none)' when there is none, reports/rollups.ts): retention and funnels split by them
      -- read these instead of each profile's computed JSON (seconds at a million profiles).
      ALTER TABLE profiles ADD COLUMN first_source TEXT NOT NULL DEFAULT '';
      ALTER TABLE profiles ADD COLUMN first_medium TEXT NOT NULL DEFAULT '(none)';
      UPDATE profiles SET
          first_source = COALESCE(json_extract(computed, '$.firstTouch.source'), ''),
          first_medium = COALESCE(json_extract(computed, '$.firstTouch.medium'), '(none)')
        WHERE json_extract(computed, '$.firstTouch') IS NOT NULL;
    `,
  },
];

/** Applies every migration newer than the database, all in one transaction. */
export function migrate(db: Database, migrations: Migration[] = MIGRATIONS): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const current =
    (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  const newest = Math.max(0, ...migrations.map((m) => m.version));
  if (current > newest) {
    throw new Error(
      `the database is at schema version ${current}, newer than this Rapport (${newest}); upgrade Rapport`,
    );
  }
  const pending = migrations.filter((m) => m.version > current).sort((a, b) => a.version - b.version);
  if (pending.length === 0) return current;
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const m of pending) {
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }
  })();
  return pending[pending.length - 1].version;
}
