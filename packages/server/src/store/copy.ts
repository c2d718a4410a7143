import Database from 'better-sqlite3';
import pg from 'pg';
import { migrate as migratePostgres } from './postgres/migrations.js';
import { NOTIFY_SQL, notifyParams } from './postgres/notify.js';
import { Partitions } from './postgres/partitions.js';
import { firstTouchOfJson, TYPES } from './postgres/rows.js';
import { MIGRATIONS as SQLITE_MIGRATIONS } from './sqlite/migrations.js';

/**
 * `rapport copy`: moves a SQLite database to PostgreSQL. Every table is read in key order, in
 * chunks, and each chunk is written in one PostgreSQL transaction together with a progress row
 * (`copy:<table>` in the target's meta table: the last key copied). An interrupted copy resumes
 * after the last committed chunk, and a second run copies nothing new; the inserts are
 * `ON CONFLICT DO NOTHING` on each table's primary key besides (events: on their dedupe key in
 * message_keys). At the end the row counts of both sides are compared, per site where the table
 * has one, so a target that also holds other sites passes.
 *
 * The source is opened read-only and read in one snapshot (a read transaction held for the whole
 * run): the counts compared are those of the rows read. Stop the servers that write to the file
 * first: rows changed after they were copied are not copied again.
 *
 * @example
 * const result = await copyDatabase({ from: './data/rapport.db', to: 'postgres://rapport@db/rapport' });
 * console.log(formatCopyReport(result)); // ok when result.ok
 */

export interface CopyOptions {
  /** The SQLite file. */
  from: string;
  /** The PostgreSQL URL; its schema is brought up to date first. */
  to: string;
  /** Rows per chunk (one PostgreSQL transaction each). @default 5000 */
  batch?: number;
  /** Where progress lines go (rows/s, every `progressEveryMs`). @default stderr */
  progress?: (line: string) => void;
  /** @default 5000 */
  progressEveryMs?: number;
  /** Stop cleanly after this many chunks (all tables together), as an interruption would: for tests. */
  maxChunks?: number;
  /**
   * Called inside each chunk's transaction, after its writes and before its commit: a throw
   * rolls the chunk back and ends the copy with that error (tests inject failures with it).
   */
  onChunk?: (chunk: { table: string; index: number; rows: number }) => void | Promise<void>;
}

/** One difference of counts: a site of a table with a site_id, else the whole table (siteId null). */
export interface CountMismatch {
  siteId: string | null;
  source: number;
  target: number;
}

export interface TableReport {
  table: string;
  /** Rows written to the target by this run (rows already there are not counted). */
  copied: number;
  /** Of `copied`, rows that got a new seq: theirs was another site's in the target (see Target.renumber). */
  renumbered: number;
  /** Rows read from the source by this run (what was before the saved progress is not read again). */
  read: number;
  seconds: number;
  /** Verified counts: the source's rows, and the target's rows of the same keys or sites. */
  source: number;
  target: number;
  mismatches: CountMismatch[];
}

export interface CopyResult {
  /** False when `maxChunks` stopped the copy before its end; nothing was verified then. */
  finished: boolean;
  /** Every count verified equal (false when not finished). */
  ok: boolean;
  tables: TableReport[];
  seconds: number;
}

/** A copy that cannot start or go on, with a message for the operator. */
export class CopyError extends Error {}

/** The lock a copy holds on the target for its whole run: two copies at once would race. */
export const COPY_LOCK = 7_243_110_003;

/** Progress rows in the target's meta table; never copied from a source. */
export const PROGRESS_PREFIX = 'copy:';

export const DEFAULT_BATCH = 5000;

type PgType = 'text' | 'bigint' | 'integer' | 'double precision';

interface TableSpec {
  name: string;
  /** Primary key columns, the copy's order. */
  key: string[];
  /** Every column with its PostgreSQL type; read from SQLite by these names. */
  columns: Array<[string, PgType]>;
  /** Counted per site (else per key, for the small tables without one). */
  perSite: boolean;
  /** PostgreSQL makes seq with a sequence or identity: copied as it is, then the sequence moved past it. */
  seq?: boolean;
  /** `GENERATED ALWAYS AS IDENTITY`: inserting a seq needs OVERRIDING SYSTEM VALUE. */
  identity?: boolean;
  /** Rows of the source left out. */
  where?: string;
  /** Columns of the target only, made from the copied row (`s`) by these expressions. */
  derived?: Array<[string, string]>;
}

const text = (...names: string[]) => names.map((n): [string, PgType] => [n, 'text']);
const bigint = (...names: string[]) => names.map((n): [string, PgType] => [n, 'bigint']);

/** In this order: the tables that reference sites come after it. */
const TABLES: TableSpec[] = [
  {
    name: 'meta',
    key: ['key'],
    columns: text('key', 'value'),
    perSite: false,
    where: `key NOT LIKE '${PROGRESS_PREFIX}%'`,
  },
  {
    name: 'sites',
    key: ['id'],
    columns: [...text('id', 'name', 'write_key', 'secret', 'origins', 'settings'), ...bigint('created_at')],
    perSite: false,
  },
  {
    name: 'profiles',
    key: ['site_id', 'id'],
    columns: [
      ...text('site_id', 'id', 'user_id', 'email'),
      ...bigint('first_seen', 'last_seen'),
      ['orders', 'integer'],
      ['revenue', 'double precision'],
      ...bigint('last_order_at'),
      ...text('merged_into'),
      ...bigint('created_at', 'updated_at'),
      ...text('traits', 'trait_times', 'computed'),
    ],
    derived: [
      ['first_source', firstTouchOfJson('s.computed', 'source')],
      ['first_medium', firstTouchOfJson('s.computed', 'medium')],
    ],
    perSite: true,
  },
  {
    name: 'identities',
    key: ['site_id', 'kind', 'value'],
    columns: [...text('site_id', 'kind', 'value', 'profile_id'), ...bigint('created_at')],
    perSite: true,
  },
  {
    name: 'events',
    key: ['seq'],
    columns: [
      ...bigint('seq'),
      ...text('site_id', 'sender', 'message_id', 'profile_id', 'type', 'name', 'anonymous_id', 'user_id', 'session_id'),
      ...bigint('timestamp', 'received_at'),
      ...text('data'),
    ],
    perSite: true,
    seq: true,
  },
  {
    name: 'merges',
    key: ['seq'],
    columns: [...bigint('seq'), ...text('site_id', 'into_profile', 'from_profile', 'rule', 'ids', 'message_id'), ...bigint('at'), ...text('detail')],
    perSite: true,
    seq: true,
    identity: true,
  },
  {
    name: 'segments',
    key: ['site_id', 'id'],
    columns: [...text('site_id', 'id', 'name', 'description', 'rule'), ...bigint('created_at', 'updated_at')],
    perSite: true,
  },
  {
    name: 'offers',
    key: ['site_id', 'id'],
    columns: [
      ...text('site_id', 'id', 'name', 'slot', 'segment_id'),
      ['priority', 'integer'],
      ...text('status', 'content'),
      ...bigint('starts_at', 'ends_at'),
      ...text('cap'),
      ['control_percent', 'double precision'],
      ...text('goal'),
      ...bigint('created_at', 'updated_at'),
    ],
    perSite: true,
  },
  {
    name: 'offer_events',
    key: ['seq'],
    columns: [...bigint('seq'), ...text('site_id', 'offer_id', 'profile_id', 'kind'), ...bigint('timestamp')],
    perSite: true,
    seq: true,
    identity: true,
  },
  {
    name: 'automations',
    key: ['site_id', 'id'],
    columns: [...text('site_id', 'id', 'name', 'status', 'definition'), ...bigint('created_at', 'updated_at')],
    perSite: true,
  },
  {
    name: 'automation_runs',
    key: ['site_id', 'id'],
    columns: [
      ...text('site_id', 'id', 'automation_id', 'profile_id', 'trigger_key'),
      ['holdout', 'integer'],
      ...text('status', 'position', 'context'),
      ...bigint('due_at'),
      ...text('waiting_for'),
      ['attempts', 'integer'],
      ...text('lease_holder'),
      ...bigint('lease_until', 'started_at', 'updated_at'),
    ],
    perSite: true,
  },
  {
    name: 'automation_sends',
    key: ['site_id', 'run_id', 'position'],
    columns: [...text('site_id', 'run_id', 'position', 'automation_id', 'profile_id', 'kind'), ...bigint('sent_at', 'opened_at', 'clicked_at')],
    perSite: true,
  },
  // Shards add up: a source's rows copy as they are.
  {
    name: 'rollup_days',
    key: ['site_id', 'day', 'shard'],
    columns: [
      ...text('site_id'),
      ['day', 'integer'],
      ['shard', 'integer'],
      ...bigint('events', 'visitors', 'new_visitors', 'sessions', 'orders', 'revenue', 'customers'),
    ],
    perSite: true,
  },
  {
    name: 'rollup_touches',
    key: ['site_id', 'day', 'touch', 'medium', 'source', 'campaign', 'term', 'shard'],
    columns: [
      ...text('site_id'),
      ['day', 'integer'],
      ...text('touch', 'medium', 'source', 'campaign', 'term'),
      ['shard', 'integer'],
      ...bigint('visitors', 'sessions', 'customers', 'orders', 'revenue'),
    ],
    perSite: true,
  },
];

/** The names of the tables copied, in order. */
export const COPIED_TABLES = TABLES.map((t) => t.name);

/** The line of the report for the dedupe keys, counted against the source's events. */
const KEYS_LINE = 'message_keys';

type Key = unknown[];

/** What a chunk wrote: rows inserted, of which `renumbered` under a new seq. */
interface Written {
  inserted: number;
  renumbered: number;
}

/** The rows of the source after `after` in key order (a row-value comparison, which SQLite's indexes serve). */
function whereAfter(table: TableSpec, after: Key | null): string {
  const where = [table.where, after && `(${table.key.join(', ')}) > (${table.key.map(() => '?').join(', ')})`].filter(Boolean);
  return where.length ? `WHERE ${where.join(' AND ')}` : '';
}

/**
 * A chunk as one JSON parameter, an array of objects: node-postgres writes arrays of long strings
 * (the JSON columns) into array literals several times slower than JSON.stringify writes this,
 * and PostgreSQL reads it faster too (measured: a chunk of 5,000 profiles in about half the time
 * of one unnest array per column).
 */
function rowsJson(table: TableSpec, rows: unknown[][]): string {
  const names = table.columns.map(([name]) => name);
  return JSON.stringify(
    rows.map((row) => {
      const object: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) object[names[i]] = row[i];
      return object;
    }),
  );
}

/** The rows of `rowsJson` ($1), typed as the target's columns. */
const recordset = (table: TableSpec) =>
  `json_to_recordset($1::json) AS s(${table.columns.map(([name, type]) => `${name} ${type}`).join(', ')})`;

/** The SQLite side: read-only, one snapshot for the whole run, keyset chunks. */
class Source {
  readonly db: Database.Database;

  constructor(file: string) {
    try {
      this.db = new Database(file, { readonly: true, fileMustExist: true });
    } catch (error) {
      throw new CopyError(`cannot open the SQLite database ${file}: ${(error as Error).message}`);
    }
    try {
      this.checkSchema(file);
      // One read transaction until close: every chunk and count reads the same snapshot.
      this.db.exec('BEGIN');
      this.db.prepare('SELECT 1 FROM sites LIMIT 1').get();
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  private checkSchema(file: string) {
    let version: number | null;
    try {
      version = this.db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number | null;
    } catch (error) {
      throw new CopyError(`${file} is not a Rapport SQLite database: ${(error as Error).message}`);
    }
    const newest = Math.max(...SQLITE_MIGRATIONS.map((m) => m.version));
    if (version === null || version > newest) {
      throw new CopyError(`${file} is at schema version ${version ?? 'none'}, which this Rapport (${newest}) does not know; upgrade Rapport`);
    }
    const missing = TABLES.filter(
      (t) => !this.db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(t.name),
    );
    if (missing.length) {
      throw new CopyError(
        `${file} is at schema version ${version} and lacks ${missing.map((t) => t.name).join(', ')}: ` +
          `bring it up to date first (rapport migrate --db ${file})`,
      );
    }
  }

  private readonly statements = new Map<string, Database.Statement>();

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  /** The next chunk after `after` (null: from the start), as rows of values in column order. */
  chunk(table: TableSpec, after: Key | null, limit: number): unknown[][] {
    const columns = table.columns.map(([name]) => name).join(', ');
    const sql = `SELECT ${columns} FROM ${table.name} ${whereAfter(table, after)} ORDER BY ${table.key.join(', ')} LIMIT ?`;
    return this.statement(sql)
      .raw(true)
      .all(...(after ?? []), limit) as unknown[][];
  }

  /** The largest seq of the table, 0 when empty. */
  maxSeq(table: TableSpec): number {
    return (this.db.prepare(`SELECT max(seq) FROM ${table.name}`).pluck().get() as number | null) ?? 0;
  }

  /** Rows after `after` in key order: what a resumed copy has left to read. */
  countAfter(table: TableSpec, after: Key | null): number {
    const sql = `SELECT count(*) FROM ${table.name} ${whereAfter(table, after)}`;
    return this.db
      .prepare(sql)
      .pluck()
      .get(...(after ?? [])) as number;
  }

  /** Rows per site (site-scoped tables), or the whole count under the key null. */
  counts(table: TableSpec): Map<string | null, number> {
    const where = table.where ? `WHERE ${table.where}` : '';
    if (!table.perSite) {
      return new Map([[null, this.db.prepare(`SELECT count(*) FROM ${table.name} ${where}`).pluck().get() as number]]);
    }
    const rows = this.db.prepare(`SELECT site_id, count(*) AS n FROM ${table.name} ${where} GROUP BY site_id`).all() as Array<{
      site_id: string;
      n: number;
    }>;
    return new Map(rows.map((r) => [r.site_id, r.n]));
  }

  /** Every key of a small table without a site, in chunks (for verifying that each is in the target). */
  *keys(table: TableSpec, limit: number): Generator<unknown[]> {
    let after: Key | null = null;
    for (;;) {
      const rows = this.chunk(table, after, limit);
      if (rows.length === 0) return;
      const index = table.columns.findIndex(([name]) => name === table.key[0]);
      yield rows.map((r) => r[index]);
      after = table.key.map((k) => rows[rows.length - 1][table.columns.findIndex(([name]) => name === k)]);
    }
  }

  close() {
    if (this.db.open) this.db.close();
  }
}

/** The PostgreSQL side: one connection for the chunks (holding the copy lock), the pool for partitions. */
class Target {
  private constructor(
    readonly pool: pg.Pool,
    readonly client: pg.PoolClient,
    private readonly partitions: Partitions,
  ) {}

  static async open(url: string): Promise<Target> {
    const pool = new pg.Pool({ connectionString: url, max: 3, types: TYPES, application_name: 'rapport copy', keepAlive: true, connectionTimeoutMillis: 10_000 });
    pool.on('error', () => {});
    try {
      // Brings the schema up to date, under the migrations' advisory lock.
      await migratePostgres(pool);
      const client = await pool.connect();
      client.on('error', () => {});
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [COPY_LOCK]);
      if (!rows[0].locked) {
        client.release();
        throw new CopyError('another copy into this database is running; wait for it to end');
      }
      const partitions = new Partitions(pool);
      await partitions.refresh();
      return new Target(pool, client, partitions);
    } catch (error) {
      await pool.end().catch(() => {});
      throw error;
    }
  }

  async progress(table: string): Promise<Key | null> {
    const { rows } = await this.client.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [PROGRESS_PREFIX + table]);
    return rows[0] ? (JSON.parse(rows[0].value) as Key) : null;
  }

  /** Makes the monthly partitions that these event times need (outside the chunk's transaction). */
  async partitionsFor(timestamps: number[]) {
    const missing = this.partitions.missing(timestamps);
    if (missing.length) await this.partitions.ensure(missing);
  }

  /** Writes one chunk and its progress row in one transaction; returns the rows inserted. */
  async write(table: TableSpec, rows: unknown[][], last: Key, beforeCommit: () => void | Promise<void>): Promise<Written> {
    const q = this.client;
    await q.query('BEGIN');
    try {
      const json = rowsJson(table, rows);
      const inserted = table.name === 'events' ? await this.insertEvents(table, json) : await this.insert(table, rows, json);
      await q.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
        PROGRESS_PREFIX + table.name,
        JSON.stringify(last),
      ]);
      await beforeCommit();
      await q.query('COMMIT');
      return inserted;
    } catch (error) {
      await q.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  private async insert(table: TableSpec, rows: unknown[][], json: string): Promise<Written> {
    const names = table.columns.map(([name]) => name);
    const derived = table.derived ?? [];
    const { rows: written } = await this.client.query<{ seq?: number }>(
      `INSERT INTO ${table.name} (${[...names, ...derived.map(([name]) => name)].join(', ')}) ${table.identity ? 'OVERRIDING SYSTEM VALUE' : ''}
       SELECT ${[...names.map((n) => `s.${n}`), ...derived.map(([, sql]) => sql)].join(', ')} FROM ${recordset(table)}
       ON CONFLICT (${table.key.join(', ')}) DO NOTHING
       RETURNING ${table.seq ? 'seq' : '1 AS one'}`,
      [json],
    );
    const renumbered = table.identity && written.length < rows.length ? await this.renumber(table, rows, written) : 0;
    return { inserted: written.length + renumbered, renumbered };
  }

  /**
   * A seq of the source found in the target is a row copied before when the row there is of the
   * same site. When it is another site's (a target that already served other sites), this row
   * gets a new seq from the sequence instead, which `moveSequence` put past every seq of the
   * source, so that no later chunk meets it: these seqs only order rows of one site that share a
   * time, and the new ones keep the source's order among themselves.
   */
  private async renumber(table: TableSpec, rows: unknown[][], written: Array<{ seq?: number }>): Promise<number> {
    const site = table.columns.findIndex(([name]) => name === 'site_id');
    const done = new Set(written.map((r) => r.seq));
    const skipped = rows.filter((r) => !done.has(r[0] as number));
    const { rows: taken } = await this.client.query<{ seq: number; site_id: string }>(
      `SELECT seq, site_id FROM ${table.name} WHERE seq = ANY($1::bigint[])`,
      [skipped.map((r) => r[0])],
    );
    const siteAt = new Map(taken.map((t) => [t.seq, t.site_id]));
    const clashes = skipped.filter((r) => siteAt.has(r[0] as number) && siteAt.get(r[0] as number) !== r[site]);
    if (clashes.length === 0) return 0;
    const names = table.columns.filter(([name]) => name !== 'seq').map(([name]) => name).join(', ');
    const { rowCount } = await this.client.query(
      `INSERT INTO ${table.name} (${names}) SELECT ${names} FROM ${recordset(table)} ORDER BY s.seq`,
      [rowsJson(table, clashes)],
    );
    return rowCount ?? 0;
  }

  /**
   * Events have no unique key on PostgreSQL (it would have to hold the partition's timestamp):
   * the dedupe key goes into message_keys first, and only the events whose key was new follow.
   */
  private async insertEvents(table: TableSpec, json: string): Promise<Written> {
    const names = table.columns.map(([name]) => name);
    const { rowCount } = await this.client.query(
      `WITH src AS (
         SELECT * FROM ${recordset(table)}
       ), k AS (
         INSERT INTO message_keys (site_id, sender, message_id, received_at)
         SELECT site_id, sender, message_id, received_at FROM src
         ON CONFLICT (site_id, sender, message_id) DO NOTHING
         RETURNING site_id, sender, message_id
       )
       INSERT INTO events (${names.join(', ')})
       SELECT ${names.map((n) => `s.${n}`).join(', ')}
       FROM src s JOIN k ON k.site_id = s.site_id AND k.sender = s.sender AND k.message_id = s.message_id
       ORDER BY s.seq`,
      [json],
    );
    return { inserted: rowCount ?? 0, renumbered: 0 };
  }

  /**
   * Moves the table's sequence past `seq` (never back), the source's largest: rows written to the
   * target from now on sort after every copied one. Done before a table's chunks.
   */
  async moveSequence(table: TableSpec, seq: number) {
    await this.client.query(
      `SELECT setval(s.seq, $2::bigint) FROM (SELECT pg_get_serial_sequence($1, 'seq')::regclass AS seq) s
       WHERE $2::bigint > coalesce(pg_sequence_last_value(s.seq), 0)`,
      [table.name, seq],
    );
  }

  /** The target's rows of these sites, per site. */
  async countsPerSite(table: string, sites: string[]): Promise<Map<string, number>> {
    const { rows } = await this.client.query<{ site_id: string; n: number }>(
      `SELECT site_id, count(*) AS n FROM ${table} WHERE site_id = ANY($1::text[]) GROUP BY site_id`,
      [sites],
    );
    return new Map(rows.map((r) => [r.site_id, r.n]));
  }

  /** How many of these keys the target has. */
  async countKeys(table: TableSpec, keys: unknown[]): Promise<number> {
    const { rows } = await this.client.query<{ n: number }>(
      `SELECT count(*) AS n FROM ${table.name} WHERE ${table.key[0]} = ANY($1::text[])`,
      [keys],
    );
    return rows[0].n;
  }

  /** Fresh statistics for the planner after a bulk load, and a word to running nodes to reload. */
  async finish(tables: string[]) {
    for (const table of tables) await this.client.query(`ANALYZE ${table}`);
    await this.client.query(NOTIFY_SQL, notifyParams({ what: 'everything' }, 'rapport-copy'));
  }

  async close() {
    try {
      await this.client.query('SELECT pg_advisory_unlock($1)', [COPY_LOCK]);
      this.client.release();
    } catch {
      this.client.release(true);
    }
    await this.pool.end();
  }
}

const number = (n: number) => n.toLocaleString('en-US');

/** Copies the SQLite database `from` into the PostgreSQL database `to`; see the top of this file. */
export async function copyDatabase(options: CopyOptions): Promise<CopyResult> {
  const batch = options.batch ?? DEFAULT_BATCH;
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a whole number of rows, not ${batch}`);
  const say = options.progress ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const every = options.progressEveryMs ?? 5000;
  const started = Date.now();

  const source = new Source(options.from);
  let target: Target;
  try {
    target = await Target.open(options.to);
  } catch (error) {
    source.close();
    throw error;
  }

  const reports: TableReport[] = [];
  let chunks = 0;
  let finished = true;
  try {
    const counts = new Map(TABLES.map((t) => [t.name, source.counts(t)]));
    for (const table of TABLES) {
      const report: TableReport = { table: table.name, copied: 0, renumbered: 0, read: 0, seconds: 0, source: 0, target: 0, mismatches: [] };
      reports.push(report);
      const tableStarted = Date.now();
      let lastSaid = tableStarted;
      let after = await target.progress(table.name);
      const remaining = source.countAfter(table, after);
      if (table.seq) await target.moveSequence(table, source.maxSeq(table));
      const resumed = after !== null;
      for (;;) {
        const rows = source.chunk(table, after, batch);
        if (rows.length === 0) break;
        if (options.maxChunks !== undefined && chunks >= options.maxChunks) {
          finished = false;
          break;
        }
        const lastRow = rows[rows.length - 1];
        const last = table.key.map((k) => lastRow[table.columns.findIndex(([name]) => name === k)]);
        if (table.name === 'events') {
          const at = table.columns.findIndex(([name]) => name === 'timestamp');
          await target.partitionsFor(rows.map((r) => r[at] as number));
        }
        const index = chunks;
        let written: Written;
        try {
          written = await target.write(table, rows, last, () => options.onChunk?.({ table: table.name, index, rows: rows.length }));
        } catch (error) {
          // Which rows, for data that PostgreSQL refuses: the chunk starts after this key.
          if (error instanceof Error && !(error instanceof CopyError) && (error as { code?: unknown }).code !== undefined) {
            error.message = `${table.name}, the chunk after ${after === null ? 'the start' : `key ${JSON.stringify(after)}`}: ${error.message}`;
          }
          throw error;
        }
        report.copied += written.inserted;
        report.renumbered += written.renumbered;
        report.read += rows.length;
        chunks++;
        after = last;
        const now = Date.now();
        if (now - lastSaid >= every) {
          lastSaid = now;
          const rate = report.read / Math.max((now - tableStarted) / 1000, 0.001);
          const left = Math.max(remaining - report.read, 0) / rate;
          say(
            `rapport copy: ${table.name}: ${number(report.read)} of ${resumed ? 'the ' : ''}${number(remaining)} rows${resumed ? ' left' : ''}, ` +
              `${number(Math.round(rate))} rows/s, about ${Math.ceil(left)} s to go`,
          );
        }
        if (rows.length < batch) break;
      }
      report.seconds = (Date.now() - tableStarted) / 1000;
      if (!finished) break;
    }

    if (finished) {
      for (const table of TABLES) await verify(table, counts.get(table.name)!, source, target, reports, batch);
      const changed = reports.filter((r) => r.copied > 0 && r.table !== KEYS_LINE).map((r) => r.table);
      if (changed.length) await target.finish(changed.flatMap((t) => (t === 'events' ? ['events', 'message_keys'] : [t])));
    }
  } finally {
    source.close();
    await target.close().catch(() => {});
  }
  const ok = finished && reports.every((r) => r.mismatches.length === 0);
  return { finished, ok, tables: reports, seconds: (Date.now() - started) / 1000 };
}

/** Fills in the verified counts of one table (and, for events, of their dedupe keys). */
async function verify(
  table: TableSpec,
  sourceCounts: Map<string | null, number>,
  source: Source,
  target: Target,
  reports: TableReport[],
  batch: number,
) {
  const report = reports.find((r) => r.table === table.name)!;
  if (!table.perSite) {
    report.source = sourceCounts.get(null) ?? 0;
    for (const keys of source.keys(table, batch)) report.target += await target.countKeys(table, keys);
    if (report.source !== report.target) report.mismatches.push({ siteId: null, source: report.source, target: report.target });
    return;
  }
  const compare = async (line: TableReport, targetTable: string) => {
    const sites = [...sourceCounts.keys()] as string[];
    const targetCounts = await target.countsPerSite(targetTable, sites);
    for (const site of sites) {
      const s = sourceCounts.get(site) ?? 0;
      const t = targetCounts.get(site) ?? 0;
      line.source += s;
      line.target += t;
      if (s !== t) line.mismatches.push({ siteId: site, source: s, target: t });
    }
  };
  await compare(report, table.name);
  if (table.name === 'events') {
    const keys: TableReport = { table: KEYS_LINE, copied: report.copied, renumbered: 0, read: report.read, seconds: 0, source: 0, target: 0, mismatches: [] };
    reports.splice(reports.indexOf(report) + 1, 0, keys);
    await compare(keys, 'message_keys');
  }
}

/**
 * The report of a copy: per table the rows this run wrote, and the counts verified on both sides
 * (source, target), then what differs.
 */
export function formatCopyReport(result: CopyResult): string {
  const lines = [`${'table'.padEnd(14)} ${'copied'.padStart(12)} ${'source'.padStart(12)} ${'target'.padStart(12)}  rows/s`];
  for (const r of result.tables) {
    const name = r.table === KEYS_LINE ? '  (dedupe keys)' : r.table;
    const rate = r.table !== KEYS_LINE && r.read > 0 && r.seconds > 0 ? number(Math.round(r.read / r.seconds)) : '';
    const verdict = !result.finished ? '' : r.mismatches.length ? '  DIFFERS' : '';
    const counts = result.finished ? `${number(r.source).padStart(12)} ${number(r.target).padStart(12)}` : `${'-'.padStart(12)} ${'-'.padStart(12)}`;
    lines.push(`${name.padEnd(14)} ${number(r.copied).padStart(12)} ${counts}  ${rate.padStart(6)}${verdict}`);
  }
  for (const r of result.tables) {
    if (r.renumbered) lines.push(`${r.table}: ${number(r.renumbered)} rows got a new seq (the target had rows of other sites at theirs)`);
    for (const m of r.mismatches) {
      const what = r.table === KEYS_LINE ? 'message_keys (dedupe keys of events)' : r.table;
      const where = m.siteId === null ? '' : ` of site ${m.siteId}`;
      const why = m.target > m.source ? 'the target has rows the source lacks (written there since?)' : 'rows are missing from the target';
      lines.push(`${what}${where}: source ${number(m.source)}, target ${number(m.target)}: ${why}`);
    }
  }
  lines.push(
    !result.finished
      ? `stopped before the end after ${result.seconds.toFixed(1)} s; run the copy again to resume`
      : result.ok
        ? `copied and verified in ${result.seconds.toFixed(1)} s`
        : 'the counts differ: see above',
  );
  return lines.join('\n');
}
