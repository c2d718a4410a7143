import type pg from 'pg';
import { monthStart } from './partitions.js';
import { firstTouchOfJson } from './rows.js';

/**
 * Numbered migrations of the PostgreSQL schema, applied in order on open (and by `migrate()`
 * alone, for a `rapport migrate` command). The number of the last applied one is kept in the
 * database (`schema_migrations`), so a database made by an older version opens in a newer one.
 * Never edit a migration that has shipped: add the next number. The numbers are PostgreSQL's
 * own, unrelated to those of the SQLite schema.
 */
export interface Migration {
  version: number;
  name: string;
  /** The statements; a function of the time of migrating for what depends on it (partition bounds). */
  sql: string | ((context: { now: number }) => string);
}

/**
 * Text compares and sorts byte-wise (collation "C"), as SQLite's does: keyset cursors, ordered
 * lists and ILIKE (ASCII-only case folding, like SQLite's LIKE) then agree between the stores,
 * whatever the database's default collation.
 */
const TEXT = 'text COLLATE "C"';

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'sites, profiles, identities, events by month, dedupe keys, merges, segments, offers, leases',
    sql: ({ now }) => `
      CREATE TABLE meta (
        key ${TEXT} PRIMARY KEY,
        value text NOT NULL
      );

      CREATE TABLE sites (
        id ${TEXT} PRIMARY KEY,
        name text NOT NULL,
        write_key ${TEXT} NOT NULL UNIQUE,
        secret ${TEXT} NOT NULL UNIQUE,
        origins text NOT NULL,
        settings text NOT NULL,
        created_at bigint NOT NULL
      );

      -- One person; a profile merged into another stays as a tombstone (merged_into set). The
      -- JSON columns are text, not jsonb: they keep the key order that was written, and the
      -- free-text search of the console matches their text as SQLite's does.
      CREATE TABLE profiles (
        site_id ${TEXT} NOT NULL REFERENCES sites(id),
        id ${TEXT} NOT NULL,
        user_id ${TEXT},
        email ${TEXT},
        first_seen bigint,
        last_seen bigint,
        -- Copied out of computed for the site-wide rankings (ABC, RFM), which read every buyer.
        orders integer NOT NULL DEFAULT 0,
        revenue double precision NOT NULL DEFAULT 0,
        last_order_at bigint,
        merged_into ${TEXT},
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        traits ${TEXT} NOT NULL,
        trait_times text NOT NULL,
        computed text NOT NULL,
        PRIMARY KEY (site_id, id)
      );
      CREATE INDEX profiles_merged ON profiles (site_id, merged_into) WHERE merged_into IS NOT NULL;
      CREATE INDEX profiles_last_seen ON profiles (site_id, last_seen DESC, id) WHERE merged_into IS NULL;
      CREATE INDEX profiles_user ON profiles (site_id, user_id) WHERE user_id IS NOT NULL;
      CREATE INDEX profiles_email ON profiles (site_id, email) WHERE email IS NOT NULL;
      -- The rankings read only buyers, in id order (keyset pages).
      CREATE INDEX profiles_buyers ON profiles (site_id, id) WHERE merged_into IS NULL AND (orders > 0 OR revenue > 0);

      CREATE TABLE identities (
        site_id ${TEXT} NOT NULL,
        kind ${TEXT} NOT NULL,
        value ${TEXT} NOT NULL,
        profile_id ${TEXT} NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (site_id, kind, value)
      );
      CREATE INDEX identities_profile ON identities (profile_id, site_id);

      -- Events, one partition per UTC month of their time (partitions.ts makes them ahead), and
      -- one for everything before the first month. seq is a plain sequence: identity columns
      -- and partitioned tables do not mix well. No unique index (it would have to hold the
      -- timestamp): dedupe is message_keys' primary key.
      CREATE SEQUENCE events_seq AS bigint;
      CREATE TABLE events (
        seq bigint NOT NULL DEFAULT nextval('events_seq'),
        site_id ${TEXT} NOT NULL,
        sender ${TEXT} NOT NULL,
        message_id ${TEXT} NOT NULL,
        profile_id ${TEXT} NOT NULL,
        type ${TEXT} NOT NULL,
        name ${TEXT},
        anonymous_id ${TEXT},
        user_id ${TEXT},
        session_id ${TEXT},
        timestamp bigint NOT NULL,
        received_at bigint NOT NULL,
        data text NOT NULL
      ) PARTITION BY RANGE (timestamp);
      ALTER SEQUENCE events_seq OWNED BY events.seq;
      CREATE TABLE events_before PARTITION OF events FOR VALUES FROM (MINVALUE) TO (${monthStart(now)});
      -- Newest first (listing), per sender (listing by anonymous id), per profile by time.
      CREATE INDEX events_site_seq ON events (site_id, seq);
      CREATE INDEX events_sender ON events (site_id, sender, seq);
      CREATE INDEX events_profile ON events (site_id, profile_id, timestamp, seq);
      CREATE INDEX events_user ON events (site_id, user_id, seq) WHERE user_id IS NOT NULL;
      CREATE INDEX events_site_time ON events (site_id, timestamp);

      -- Dedupe: one row per stored message. A constraint, not a read-then-write, so that a message
      -- sent to two nodes at once is stored once.
      CREATE TABLE message_keys (
        site_id ${TEXT} NOT NULL,
        sender ${TEXT} NOT NULL,
        message_id ${TEXT} NOT NULL,
        received_at bigint NOT NULL,
        PRIMARY KEY (site_id, sender, message_id)
      );
      CREATE INDEX message_keys_received ON message_keys (site_id, received_at);

      CREATE TABLE merges (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        site_id ${TEXT} NOT NULL,
        into_profile ${TEXT} NOT NULL,
        from_profile ${TEXT},
        rule ${TEXT} NOT NULL,
        ids text NOT NULL,
        message_id ${TEXT},
        at bigint NOT NULL
      );
      CREATE INDEX merges_into ON merges (site_id, into_profile);
      CREATE INDEX merges_from ON merges (site_id, from_profile);

      CREATE TABLE segments (
        site_id ${TEXT} NOT NULL REFERENCES sites(id),
        id ${TEXT} NOT NULL,
        name ${TEXT} NOT NULL,
        description text,
        rule text NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (site_id, id)
      );
      CREATE UNIQUE INDEX segments_name ON segments (site_id, name);

      CREATE TABLE offers (
        site_id ${TEXT} NOT NULL REFERENCES sites(id),
        id ${TEXT} NOT NULL,
        name ${TEXT} NOT NULL,
        slot ${TEXT} NOT NULL,
        segment_id ${TEXT},
        priority integer NOT NULL,
        status ${TEXT} NOT NULL,
        content text NOT NULL,
        starts_at bigint,
        ends_at bigint,
        cap text,
        control_percent double precision NOT NULL,
        goal text,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (site_id, id)
      );
      CREATE INDEX offers_segment ON offers (site_id, segment_id);

      CREATE TABLE offer_events (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        site_id ${TEXT} NOT NULL,
        offer_id ${TEXT} NOT NULL,
        profile_id ${TEXT} NOT NULL,
        kind ${TEXT} NOT NULL,
        timestamp bigint NOT NULL
      );
      CREATE INDEX offer_events_offer ON offer_events (site_id, offer_id, kind, timestamp);
      CREATE INDEX offer_events_profile ON offer_events (site_id, profile_id);
      CREATE INDEX offer_events_time ON offer_events (site_id, timestamp);

      -- Work that must run once for all nodes (see Store.lease): who holds it, until when.
      CREATE TABLE leases (
        name ${TEXT} PRIMARY KEY,
        holder ${TEXT} NOT NULL,
        expires_at bigint NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'console sessions shared by every node',
    sql: `
      -- By a hash of the cookie's value: a copy of the database logs no one in.
      CREATE TABLE console_sessions (
        id_hash ${TEXT} PRIMARY KEY,
        csrf text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX console_sessions_created ON console_sessions (created_at);
    `,
  },
  {
    version: 3,
    name: 'rollups: per-day figures kept at ingest',
    sql: `
      -- Per site and local day (the site's time zone, see reports/days.ts); revenue in cents.
      -- Each day is spread over shards, one picked per transaction, so that concurrent writers
      -- rarely wait on one row; readers add the shards up. See reports/rollups.ts.
      CREATE TABLE rollup_days (
        site_id ${TEXT} NOT NULL,
        day integer NOT NULL,
        shard smallint NOT NULL DEFAULT 0,
        events bigint NOT NULL DEFAULT 0,
        visitors bigint NOT NULL DEFAULT 0,
        new_visitors bigint NOT NULL DEFAULT 0,
        sessions bigint NOT NULL DEFAULT 0,
        orders bigint NOT NULL DEFAULT 0,
        revenue bigint NOT NULL DEFAULT 0,
        customers bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (site_id, day, shard)
      );
      -- The same by touch: 'session' (a session's entry), 'first' and 'last' (the buyer's touches).
      CREATE TABLE rollup_touches (
        site_id ${TEXT} NOT NULL,
        day integer NOT NULL,
        touch ${TEXT} NOT NULL,
        medium ${TEXT} NOT NULL,
        source ${TEXT} NOT NULL,
        campaign ${TEXT} NOT NULL,
        term ${TEXT} NOT NULL,
        shard smallint NOT NULL DEFAULT 0,
        visitors bigint NOT NULL DEFAULT 0,
        sessions bigint NOT NULL DEFAULT 0,
        customers bigint NOT NULL DEFAULT 0,
        orders bigint NOT NULL DEFAULT 0,
        revenue bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (site_id, day, touch, medium, source, campaign, term, shard)
      );
    `,
  },
  {
    version: 4,
    name: 'track events by name and time, for funnels and cohorts',
    sql: `
      -- The funnel and cohort reports read the events of a few names over a range of days
      -- (store/postgres/report-queries.ts), from the index alone.
      CREATE INDEX events_track_name ON events (site_id, name, timestamp) INCLUDE (profile_id, seq) WHERE type = 'track';
    `,
  },
  {
    version: 5,
    name: 'page views by path and time, for funnels',
    sql: `
      -- Funnel steps that are a page path. The path is in the JSON text of the row, read so that
      -- it cannot fail (a \\u0000 or a lone surrogate escape would make PostgreSQL refuse the
      -- JSON, and with it the insert): see safeJson in rows.ts, whose expression a query
      -- must spell exactly as here to use the index.
      CREATE INDEX events_page_path ON events (site_id,
        ((CASE WHEN strpos(data, '\\u') = 0 THEN data ELSE regexp_replace(data, '\\\\u(0000|d[89a-f][0-9a-f]{2})', '\\\\ufffd', 'gi') END)::json
          -> 'enrichment' -> 'page' ->> 'path'), timestamp)
        INCLUDE (profile_id, seq) WHERE type = 'page';
    `,
  },
  {
    version: 6,
    name: 'automations and their runs',
    sql: `
      CREATE TABLE automations (
        site_id ${TEXT} NOT NULL REFERENCES sites(id),
        id ${TEXT} NOT NULL,
        name ${TEXT} NOT NULL,
        status ${TEXT} NOT NULL,
        definition text NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (site_id, id)
      );
      CREATE UNIQUE INDEX automations_name ON automations (site_id, name);

      -- A run outlives its automation (its history stays readable), so no foreign key to it.
      CREATE TABLE automation_runs (
        site_id ${TEXT} NOT NULL REFERENCES sites(id),
        id ${TEXT} NOT NULL,
        automation_id ${TEXT} NOT NULL,
        profile_id ${TEXT} NOT NULL,
        trigger_key ${TEXT} NOT NULL,
        holdout smallint NOT NULL,
        status ${TEXT} NOT NULL,
        position text NOT NULL,
        context text NOT NULL,
        due_at bigint,
        waiting_for ${TEXT},
        attempts integer NOT NULL,
        lease_holder ${TEXT},
        lease_until bigint,
        started_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (site_id, id)
      );
      -- One run per trigger: a retried trigger, or one seen by two nodes, starts nothing more.
      CREATE UNIQUE INDEX automation_runs_trigger ON automation_runs (site_id, automation_id, trigger_key);
      -- The scheduler's queue: what falls due next, across sites.
      CREATE INDEX automation_runs_due ON automation_runs (due_at) WHERE status = 'active' AND due_at IS NOT NULL;
      CREATE INDEX automation_runs_profile ON automation_runs (site_id, profile_id, waiting_for);
      CREATE INDEX automation_runs_started ON automation_runs (site_id, automation_id, started_at);
    `,
  },
  {
    version: 7,
    name: 'automation sends',
    sql: `
      -- One row per email or webhook that went out (a step of a run, so a retry is the same row):
      -- what the per-person send cap counts and the automation report reads.
      CREATE TABLE automation_sends (
        site_id ${TEXT} NOT NULL REFERENCES sites(id),
        run_id ${TEXT} NOT NULL,
        position text NOT NULL,
        automation_id ${TEXT} NOT NULL,
        profile_id ${TEXT} NOT NULL,
        kind ${TEXT} NOT NULL,
        sent_at bigint NOT NULL,
        opened_at bigint,
        clicked_at bigint,
        PRIMARY KEY (site_id, run_id, position)
      );
      CREATE INDEX automation_sends_profile ON automation_sends (site_id, profile_id, sent_at);
      CREATE INDEX automation_sends_automation ON automation_sends (site_id, automation_id);
    `,
  },
  {
    version: 8,
    name: 'merge details',
    sql: `
      -- Who merged by hand, what a split needs to restore, and when a split undid the merge (JSON).
      ALTER TABLE merges ADD COLUMN detail text;
    `,
  },
  {
    version: 9,
    name: 'recommendations',
    sql: `
      -- The catalog: imported by the feed, or observed in e-commerce events.
      CREATE TABLE products (
        site_id ${TEXT} NOT NULL REFERENCES sites(id),
        product_id ${TEXT} NOT NULL,
        sku ${TEXT},
        name text,
        price double precision,
        currency ${TEXT},
        category ${TEXT},
        url text,
        image_url text,
        available boolean,
        source ${TEXT} NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (site_id, product_id)
      );
      -- One trained model per site (JSON), replaced by each training.
      CREATE TABLE recommendation_models (
        site_id ${TEXT} PRIMARY KEY REFERENCES sites(id),
        trained_at bigint NOT NULL,
        stats text NOT NULL,
        data text NOT NULL
      );
    `,
  },
  {
    version: 10,
    name: 'first touch of profiles in columns, for reports split by it',
    sql: `
      -- Retention and funnels split by first-touch source or medium read these instead of each
      -- profile's computed JSON (13.9 s at 1M profiles for retention by source). Filled here for
      -- the profiles there are, once (82 s at 1M); a profile made by an older node in a rolling
      -- deploy stays NULL and is read from its JSON (see firstTouchSql).
      ALTER TABLE profiles ADD COLUMN first_source text, ADD COLUMN first_medium text;
      UPDATE profiles SET first_source = ${firstTouchOfJson('computed', 'source')}, first_medium = ${firstTouchOfJson('computed', 'medium')};
    `,
  },
];

/** The longest a migration (and a node's wait for another's) may take, ms. */
export const MIGRATION_TIMEOUT_MS = 60 * 60 * 1000;

/** The advisory lock that serializes migrations: ten nodes starting at once migrate once. */
export const MIGRATION_LOCK = 7_243_110_001;

export interface MigrateOptions {
  migrations?: Migration[];
  /** The time of migrating: where the first monthly partition of events starts. */
  now?: number;
}

/**
 * Applies every migration newer than the database, all in one transaction under an advisory
 * lock, and returns the schema version. A database newer than this code is refused, as SQLite's
 * store does.
 *
 * @example
 * const version = await migrate(pool); // `rapport migrate`
 */
export async function migrate(pool: pg.Pool, options: MigrateOptions = {}): Promise<number> {
  const migrations = options.migrations ?? MIGRATIONS;
  const now = options.now ?? Date.now();
  const client = await pool.connect();
  // A migration of a big database (an index built, a column filled) takes minutes, and the nodes
  // that start meanwhile wait for it: not the pool's timeouts of ordinary statements.
  const query = (text: string, values?: unknown[]): Promise<pg.QueryResult> =>
    client.query({ text, values, query_timeout: MIGRATION_TIMEOUT_MS + 2_000 } as pg.QueryConfig);
  let broken: unknown;
  try {
    await query('BEGIN');
    try {
      await query(`SET LOCAL statement_timeout = ${MIGRATION_TIMEOUT_MS}`);
      await query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at bigint NOT NULL
      )`);
      const current = ((await query('SELECT MAX(version) AS v FROM schema_migrations')).rows[0].v as number | null) ?? 0;
      const newest = Math.max(0, ...migrations.map((m) => m.version));
      if (current > newest) {
        throw new Error(`the database is at schema version ${current}, newer than this Rapport (${newest}); upgrade Rapport`);
      }
      const pending = migrations.filter((m) => m.version > current).sort((a, b) => a.version - b.version);
      for (const m of pending) {
        await query(typeof m.sql === 'function' ? m.sql({ now }) : m.sql);
        await query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
      }
      await query('COMMIT');
      return pending.length ? pending[pending.length - 1].version : current;
    } catch (error) {
      await query('ROLLBACK').catch((rollbackError) => (broken = rollbackError));
      throw error;
    }
  } finally {
    client.release(broken ? true : undefined);
  }
}
