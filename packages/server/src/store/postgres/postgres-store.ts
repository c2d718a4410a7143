import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Offer, OfferEventRow, Segment } from '../../decisions/types.js';
import type { PackedRankings } from '../../profiles/rankings.js';
import type { ProfileRecord } from '../../profiles/types.js';
import type { DayCounts, RollupWrites, TouchCounts, TouchKind } from '../../reports/rollups.js';
import { decodeCursor, decodeCursorParts, encodeCursor } from '../cursor.js';
import {
  ConflictError,
  StoreUnavailableError,
  type CohortCounts,
  type CohortQuery,
  type CohortRow,
  type FunnelCounts,
  type FunnelQuery,
  type RetentionResult,
  type Store,
  type StoreChange,
  type TouchField,
} from '../store.js';
import { FunnelTally, tallyBySegment } from '../report-tally.js';
import { cohortStatement, funnelParams, funnelPeopleSql, funnelSql, RULE_PROFILES_BY_ID_SQL } from './report-queries.js';
import {
  DEFAULT_SITE_SETTINGS,
  movesRows,
  type ErasureResult,
  type EventQuery,
  type Identity,
  type IdentityKind,
  type IngestProgram,
  type IngestRead,
  type WorkingSetRead,
  type HistoryRead,
  type HistoryRequest,
  type SplitWrites,
  type IngestWrites,
  type MergeRecord,
  type MessageKey,
  type NewSite,
  type Page,
  type ProfileExport,
  type ProfileQuery,
  type RankingInput,
  type SessionRow,
  type Site,
  type SitePatch,
  type StoredEvent,
  type TouchKey,
} from '../types.js';
import { classify, isConnectionError, isState, StaleReadError, storeError } from './errors.js';
import { migrate } from './migrations.js';
import { ChangeListener, NOTIFY_SQL, notifyParams } from './notify.js';
import { monthStart, Partitions } from './partitions.js';
import { prepared } from './prepared.js';
import { ORDER_COMPLETED } from '../../profiles/computed.js';
import { RankingWorker } from './ranking-worker.js';
import { PostgresAutomations } from './automations.js';
import { PostgresRecommendations } from './recommendations.js';
import { combineWrites, disjointMembers, groupRequest, IngestQueue, isWorkingSetRead, splitRead, type IngestCall, type Started } from './ingest-groups.js';
import { replaceRollupsStatements, ROLLUP_DAYS_SQL, RollupShards, rollupParts, rollupTouchesSql, subtractRollups } from './rollups.js';
import {
  eventFromRow,
  firstTouchColumns,
  mergeDetailOf,
  mergeFromRow,
  offerFromRow,
  pageOf,
  profileFromRow,
  ruleProfileFromRow,
  segmentFromRow,
  siteFromRow,
  type EventRow,
  type MergeRow,
  type OfferRow,
  type ProfileRow,
  type SegmentRow,
  type SiteRow,
} from '../rows.js';
import { EVENT_COLUMNS, eventColumns, NOW_MS, OFFER_COLUMNS, offerToParams, pgText, pgTexts, PROFILE_COLUMNS, profileColumns, rowsFrom, TYPES } from './rows.js';

export interface PostgresOptions {
  /** Connections of the pool (default 10); the LISTEN connection comes on top. */
  poolSize?: number;
  /** Longest statement of the ordinary calls, ms (default 10 s). */
  statementTimeoutMs?: number;
  /** Longest statement of the long reads (console overview, rankings, export, erasure), ms (default 120 s). */
  longStatementTimeoutMs?: number;
  /** Longest wait for a connection, ms (default 2 s): past it the store is unavailable. */
  connectionTimeoutMs?: number;
}

/** Attempts of an ingest transaction that conflicts with concurrent ones. */
const MAX_ATTEMPTS = 8;
/** Rows read per query of a scan over every profile of a site (see SqliteStore's). */
const SCAN_CHUNK = 5000;
const PROFILE_SCAN_CHUNK = 250;
/** Profiles read per query when a funnel is split by segment. */
const SEGMENT_CHUNK = 1000;
/** Windows of firstEventsBetween per query. */
const WINDOW_CHUNK = 1000;
/** Rows deleted per statement by retention: one delete of millions of rows would hold locks for long. */
const RETENTION_CHUNK = 5000;

/**
 * Ingest transactions a node runs at once: at most 3, and two connections stay free of ingest for
 * decisions and the console. Fewer transactions take bigger groups and wait less on each
 * other's identity locks: with 50 clients sending batches of 20 (bench/postgres.mjs, 2-core
 * machine), 3 at once wrote 83–97% of SQLite's events/s in the same runs, 8 (the pool size less
 * two, the limit before) 73–78%.
 */
export const ingestTransactions = (poolSize: number) => Math.max(1, Math.min(3, poolSize - 2));

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** 5, 10, 20, 40, 50... ms, jittered down to half, so that two colliding writers part ways. */
const backoff = (attempt: number) => Math.min(50, 5 * 2 ** (attempt - 1)) * (0.5 + Math.random() * 0.5);

/**
 * Every write transaction waits for its commit to be flushed to the WAL, whatever the server's or
 * the role's default: a 200 means committed to disk, on PostgreSQL as on SQLite.
 */
const BEGIN = 'BEGIN; SET LOCAL synchronous_commit = on';

/**
 * The ingest pipeline's read (see `IngestTx.answer`) in one statement: the owner of each
 * identity, the dedupe keys found, and the owners' profiles locked in id order, one row per
 * profile (or one row of nulls), each row carrying the two arrays.
 *
 * Every lookup is a scalar subquery or a lateral one, so that its plan is an index probe per
 * key whatever the statistics say. With joins, `= ANY` or EXISTS, a table not analyzed yet (a
 * new or fast-growing site) was planned as one scan of all the site's keys and profiles, hashed:
 * a cost that grew with the site instead of with the batch. The profiles are locked in id order:
 * the nested loop follows its sorted outer side.
 */
const WORKING_SET_SQL = `
  WITH owners AS MATERIALIZED (
    SELECT k.n, (SELECT i.profile_id FROM identities i WHERE i.site_id = $1 AND i.kind = k.kind AND i.value = k.value) AS profile_id
    FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS k(kind, value, n)),
  locked AS (
    SELECT p.* FROM (SELECT DISTINCT profile_id FROM owners WHERE profile_id IS NOT NULL ORDER BY profile_id) o
    CROSS JOIN LATERAL (SELECT * FROM profiles p WHERE p.site_id = $1 AND p.id = o.profile_id FOR UPDATE) p)
  SELECT (SELECT array_agg(profile_id ORDER BY n) FROM owners) AS owners_,
    ARRAY(SELECT (SELECT true FROM message_keys m WHERE m.site_id = $1 AND m.sender = k.sender AND m.message_id = k.message_id) IS NOT NULL
          FROM unnest($4::text[], $5::text[]) WITH ORDINALITY AS k(sender, message_id, n)
          ORDER BY k.n) AS existing_,
    l.*
  FROM (SELECT 1) one LEFT JOIN locked l ON true`;

/** A merge that moves rows: everything of profile $3 goes to $2 (tombstones pointing at $3 too). */
const MOVE_PROFILE_SQL = `
  WITH moved_events AS (UPDATE events SET profile_id = $2 WHERE site_id = $1 AND profile_id = $3),
    moved_identities AS (UPDATE identities SET profile_id = $2 WHERE site_id = $1 AND profile_id = $3),
    moved_offer_events AS (UPDATE offer_events SET profile_id = $2 WHERE site_id = $1 AND profile_id = $3),
    moved_runs AS (UPDATE automation_runs SET profile_id = $2 WHERE site_id = $1 AND profile_id = $3),
    moved_sends AS (UPDATE automation_sends SET profile_id = $2 WHERE site_id = $1 AND profile_id = $3)
  UPDATE profiles SET merged_into = $2 WHERE site_id = $1 AND merged_into = $3`;


/** Runs one statement; a long one with its own timeout. */
type Query = <R extends pg.QueryResultRow = any>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/** The event partitions that an ingest transaction needs and that do not exist yet. */
class MissingPartitions extends Error {
  constructor(readonly months: number[]) {
    super('events need partitions that do not exist yet');
  }
}

/**
 * The store of deployments that run several Rapport nodes on one PostgreSQL database. Same
 * behaviour as SqliteStore on every method; what differs is how it holds across nodes:
 * ingest locks the identities it reads (advisory locks, in one order) and the profiles it
 * changes, dedupe is a primary key (message_keys), conflicts are retried, and changes to what
 * nodes cache are announced with NOTIFY.
 *
 * @example
 * const store = await PostgresStore.open('postgres://rapport@db/rapport');
 * await ingest(store, site, events); // collect/pipeline.ts
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  /** Tells this instance's notifications from those of other nodes. */
  readonly instanceId = randomUUID();
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private readonly partitions: Partitions;
  private readonly changes: ChangeListener;
  private closed = false;
  private readonly ranker: RankingWorker;
  private readonly rollupShards = new RollupShards();
  private readonly ingestQueue: IngestQueue;
  readonly automations: PostgresAutomations;
  readonly recommendations: PostgresRecommendations;

  private constructor(
    readonly pool: pg.Pool,
    listenConfig: pg.ClientConfig,
    private readonly options: Required<PostgresOptions>,
  ) {
    this.partitions = new Partitions(pool, options.longStatementTimeoutMs);
    this.changes = new ChangeListener(listenConfig, this.instanceId, (change) => this.emit(change));
    this.ranker = new RankingWorker({ ...listenConfig, statement_timeout: options.longStatementTimeoutMs });
    this.automations = new PostgresAutomations(
      (text, values) => this.query(text, values),
      (work) => this.transaction(work),
    );
    this.recommendations = new PostgresRecommendations(
      (text, values) => this.query(text, values),
      (work) => this.transaction(work),
    );
    this.ingestQueue = new IngestQueue((siteId, calls) => this.ingestGroup(siteId, calls), ingestTransactions(options.poolSize));
  }

  /** Connects, brings the schema up to date, makes the partitions ahead and starts listening. */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
    const settings: Required<PostgresOptions> = {
      poolSize: options.poolSize ?? 10,
      statementTimeoutMs: options.statementTimeoutMs ?? 10_000,
      longStatementTimeoutMs: options.longStatementTimeoutMs ?? 120_000,
      connectionTimeoutMs: options.connectionTimeoutMs ?? 2_000,
    };
    const connection: pg.ClientConfig = {
      connectionString: url,
      connectionTimeoutMillis: settings.connectionTimeoutMs,
      application_name: 'rapport',
      keepAlive: true,
    };
    const pool = new pg.Pool({
      ...connection,
      max: settings.poolSize,
      types: TYPES,
      statement_timeout: settings.statementTimeoutMs,
      // The client gives up a little after the server would: a server gone silent (a network
      // cut) never hangs a call.
      query_timeout: settings.statementTimeoutMs + 2_000,
      // A node that dies inside a transaction never holds its locks for long.
      idle_in_transaction_session_timeout: 60_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle client whose connection dies emits on the pool; a checked-out one on itself.
    pool.on('error', () => {});
    pool.on('connect', (client) => void client.on('error', () => {}));
    const store = new PostgresStore(pool, connection, settings);
    try {
      await migrate(pool);
      await store.partitions.start();
      await store.changes.start();
    } catch (error) {
      await store.close().catch(() => {});
      throw storeError(error);
    }
    return store;
  }

  // Connections and transactions

  private async connect(): Promise<pg.PoolClient> {
    if (this.closed) throw new StoreUnavailableError('the store is closed');
    try {
      return await this.pool.connect();
    } catch (error) {
      throw storeError(error);
    }
  }

  /** A query function on `client`; long ones get the long client-side timeout. */
  private queryOn(client: pg.PoolClient, long = false): Query {
    const timeout = long ? this.options.longStatementTimeoutMs + 2_000 : undefined;
    return (text, values) =>
      client.query(timeout ? ({ text, values, query_timeout: timeout } as pg.QueryConfig) : { text, values: values as unknown[] });
  }

  /** One statement outside a transaction. */
  private async query<R extends pg.QueryResultRow = any>(text: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new StoreUnavailableError('the store is closed');
    try {
      return await (typeof text === 'string' ? this.pool.query<R>(text, values) : this.pool.query<R>(text));
    } catch (error) {
      throw storeError(error);
    }
  }

  /**
   * Runs `work` in one transaction (READ COMMITTED; `readOnly`: a REPEATABLE READ snapshot),
   * `long` with the long statement timeout, and commits. `change`, if given, is announced to
   * the other nodes on commit.
   */
  private async transaction<T>(
    work: (q: Query) => Promise<T>,
    options: { readOnly?: boolean; long?: boolean; change?: (result: T) => StoreChange | null } = {},
  ): Promise<T> {
    const client = await this.connect();
    let destroy = false;
    try {
      const q = this.queryOn(client, options.long);
      await q(options.readOnly ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : BEGIN);
      try {
        if (options.long) await q(`SET LOCAL statement_timeout = ${Math.floor(this.options.longStatementTimeoutMs)}`);
        const result = await work(q);
        const change = options.change?.(result);
        if (change) await q(NOTIFY_SQL, notifyParams(change, this.instanceId));
        await q('COMMIT');
        return result;
      } catch (error) {
        destroy = isConnectionError(error);
        if (!destroy) await q('ROLLBACK').catch(() => (destroy = true));
        throw error;
      }
    } catch (error) {
      destroy ||= isConnectionError(error);
      throw storeError(error);
    } finally {
      client.release(destroy || undefined);
    }
  }

  async health(): Promise<boolean> {
    if (this.closed) return false;
    try {
      const { rows } = await this.pool.query({ text: 'SELECT 1 AS ok', query_timeout: 2_000 } as pg.QueryConfig);
      return rows[0]?.ok === 1;
    } catch {
      return false;
    }
  }

  async schemaVersion(): Promise<number> {
    const { rows } = await this.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    return rows[0].v ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.partitions.stop();
    this.listeners.clear();
    await this.changes.close();
    await this.ranker.close();
    await this.pool.end();
  }

  // Changes made by other nodes

  onChange(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private emit(change: StoreChange) {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own; the others still hear of the change.
      }
    }
  }

  // Work that runs once

  async lease(name: string, holder: string, ms: number): Promise<boolean> {
    const { rowCount } = await this.query(
      `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, ${NOW_MS} + $3::bigint)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at < ${NOW_MS}
       RETURNING 1`,
      [name, holder, Math.round(ms)],
    );
    return (rowCount ?? 0) > 0;
  }

  async applyRetention(cutoffs: Array<{ siteId: string; before: number | null }>): Promise<RetentionResult> {
    const result: RetentionResult = { events: 0, partitionsDropped: 0 };
    const before = new Map(cutoffs.map((c) => [c.siteId, c.before]));
    // Whole months go when every site that has events lets them go.
    const { rows: withEvents } = await this.query<{ id: string }>(
      'SELECT id FROM sites s WHERE EXISTS (SELECT 1 FROM events e WHERE e.site_id = s.id)',
    );
    const limits = withEvents.map((s) => before.get(s.id) ?? null);
    if (limits.length > 0 && limits.every((b) => b !== null)) {
      try {
        const { rows, dropped } = await this.partitions.dropBefore(Math.min(...(limits as number[])), (id) => before.get(id) ?? null);
        result.events += rows;
        result.partitionsDropped += dropped;
      } catch (error) {
        throw storeError(error);
      }
    }
    const chunked = async (text: string, values: unknown[]) => {
      let total = 0;
      for (;;) {
        const { rowCount } = await this.query(text, [...values, RETENTION_CHUNK]);
        total += rowCount ?? 0;
        if ((rowCount ?? 0) < RETENTION_CHUNK) return total;
      }
    };
    for (const { siteId, before: cutoff } of cutoffs) {
      if (cutoff === null) continue;
      await chunked(
        `DELETE FROM offer_events WHERE seq IN (
           SELECT seq FROM offer_events WHERE site_id = $1 AND timestamp < $2 LIMIT $3)`,
        [siteId, cutoff],
      );
      await chunked(
        `DELETE FROM message_keys WHERE site_id = $1 AND (sender, message_id) IN (
           SELECT sender, message_id FROM message_keys WHERE site_id = $1 AND received_at < $2 LIMIT $3)`,
        [siteId, cutoff],
      );
      result.events += await chunked(
        `DELETE FROM events WHERE site_id = $1 AND timestamp < $2 AND seq IN (
           SELECT seq FROM events WHERE site_id = $1 AND timestamp < $2 LIMIT $3)`,
        [siteId, cutoff],
      );
    }
    return result;
  }

  // Meta and sites

  async saveSession(session: SessionRow, keep: number): Promise<void> {
    await this.transaction(async (q) => {
      await q('DELETE FROM console_sessions WHERE expires_at <= $1', [session.createdAt]);
      await q('INSERT INTO console_sessions (id_hash, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
        session.idHash,
        session.csrf,
        session.createdAt,
        session.expiresAt,
      ]);
      await q(
        'DELETE FROM console_sessions WHERE id_hash IN (SELECT id_hash FROM console_sessions ORDER BY created_at DESC, id_hash OFFSET $1)',
        [keep],
      );
    });
  }

  async getSession(idHash: string, now: number): Promise<SessionRow | null> {
    const { rows } = await this.query<{ csrf: string; created_at: number; expires_at: number }>(
      'SELECT csrf, created_at, expires_at FROM console_sessions WHERE id_hash = $1 AND expires_at > $2',
      [idHash, now],
    );
    return rows[0] ? { idHash, csrf: rows[0].csrf, createdAt: rows[0].created_at, expiresAt: rows[0].expires_at } : null;
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.query('DELETE FROM console_sessions WHERE id_hash = $1', [idHash]);
  }

  async getMeta(key: string): Promise<string | null> {
    const { rows } = await this.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]);
    return rows[0]?.value ?? null;
  }

  async setMetaIfAbsent(key: string, value: string): Promise<string> {
    // A statement sees no row that a concurrent one inserts: the insert waits for it, then
    // does nothing, and the read after it sees the winner's value.
    await this.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
    return (await this.getMeta(key))!;
  }

  async deleteMeta(prefix: string, keep: string[] = []): Promise<number> {
    // starts_with, not LIKE: a prefix may hold % or _.
    const { rowCount } = await this.query('DELETE FROM meta WHERE starts_with(key, $1) AND NOT (key = ANY($2))', [prefix, keep]);
    return rowCount ?? 0;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async createSite(site: NewSite & { id: string; writeKey: string; secret: string }): Promise<Site> {
    const row: SiteRow = {
      id: site.id,
      name: site.name,
      write_key: site.writeKey,
      secret: site.secret,
      origins: JSON.stringify(site.origins),
      settings: JSON.stringify({ ...DEFAULT_SITE_SETTINGS, ...site.settings }),
      created_at: Date.now(),
    };
    await this.transaction(
      (q) =>
        q('INSERT INTO sites (id, name, write_key, secret, origins, settings, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          row.id,
          row.name,
          row.write_key,
          row.secret,
          row.origins,
          row.settings,
          row.created_at,
        ]),
      { change: () => ({ what: 'sites' }) },
    );
    return siteFromRow(row);
  }

  updateSite(id: string, patch: SitePatch & { secret?: string }): Promise<Site | null> {
    return this.transaction(
      async (q) => {
        const { rows } = await q<SiteRow>('SELECT * FROM sites WHERE id = $1 FOR UPDATE', [id]);
        const row = rows[0];
        if (!row) return null;
        const current = siteFromRow(row);
        const next: SiteRow = {
          ...row,
          name: patch.name ?? row.name,
          origins: JSON.stringify(patch.origins ?? current.origins),
          settings: JSON.stringify({ ...current.settings, ...patch.settings }),
          secret: patch.secret ?? row.secret,
        };
        await q('UPDATE sites SET name = $2, secret = $3, origins = $4, settings = $5 WHERE id = $1', [
          id,
          next.name,
          next.secret,
          next.origins,
          next.settings,
        ]);
        return siteFromRow(next);
      },
      { change: (site) => (site ? { what: 'sites' } : null) },
    );
  }

  async listSites(): Promise<Site[]> {
    return (await this.query<SiteRow>('SELECT * FROM sites ORDER BY created_at, id')).rows.map(siteFromRow);
  }

  // Ingest

  /** Queued with the node's other ingest calls, and written with those of its site that wait (see IngestQueue). */
  ingestTransaction<T>(siteId: string, program: () => IngestProgram<T>): Promise<T> {
    return this.ingestQueue.submit(siteId, program);
  }

  /**
   * Writes a group of calls in one transaction, retried as a whole on a conflict. Calls that
   * cannot share it run after it (see ingestGroupOnce); on an error that is no conflict, a
   * group of several calls is split up, so that only a call that fails on its own fails.
   */
  async ingestGroup(siteId: string, calls: IngestCall[]): Promise<void> {
    let partitionRounds = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const { done, left } = await this.ingestGroupOnce(siteId, calls);
        for (const { call, result } of done) call.resolve(result);
        this.ingestQueue.requeue(siteId, left);
        return;
      } catch (error) {
        if (error instanceof MissingPartitions && partitionRounds++ < 3) {
          try {
            await this.partitions.ensure(error.months);
          } catch (ensureError) {
            throw storeError(ensureError);
          }
          attempt--;
          continue;
        }
        if (classify(error) === 'retry') {
          if (attempt < MAX_ATTEMPTS) {
            await sleep(backoff(attempt));
            continue;
          }
          // Never a 500 for contention: the sender keeps the messages and tries again.
          throw new StoreUnavailableError(`ingest conflicted with concurrent writers ${MAX_ATTEMPTS} times`, error);
        }
        if (calls.length > 1 && classify(error) === 'other') {
          for (const call of calls) call.alone = true;
          this.ingestQueue.requeue(siteId, calls);
          return;
        }
        throw storeError(error);
      }
    }
  }

  /**
   * One attempt: the programs' first reads answered by one read under the locks of all their
   * identities, their writes as one write, one commit. A program that needs a second read gets
   * the transaction to itself only when it is alone in the group; otherwise it is left out and
   * runs alone next, as are calls that share an identity, a message or a profile with an
   * earlier member (see disjointMembers, splitRead).
   */
  private async ingestGroupOnce(siteId: string, calls: IngestCall[]): Promise<{ done: Array<{ call: IngestCall; result: unknown }>; left: IngestCall[] }> {
    const client = await this.connect();
    const tx = new IngestTx(client, this.rollupShards);
    let destroy = false;
    try {
      const left: IngestCall[] = [];
      const started: Started[] = [];
      for (const call of calls) {
        const program = call.program();
        const step = program.next();
        if (step.done || !isWorkingSetRead(step.value)) {
          if (calls.length === 1) return { done: [{ call, result: await this.finishAlone(tx, siteId, program, step) }], left };
          call.alone = true;
          left.push(call);
        } else {
          started.push({ call, program, request: step.value });
        }
      }
      const { members, left: overlapping } = disjointMembers(started);
      left.push(...overlapping.map((s) => s.call));
      if (members.length === 0) return { done: [], left };
      if (members.length === 1 && left.length === 0) {
        const only = members[0];
        return { done: [{ call: only.call, result: await this.finishAlone(tx, siteId, only.program, { done: false, value: only.request }) }], left };
      }

      const reads = splitRead(members, (await tx.answer(siteId, groupRequest(members))) as WorkingSetRead);
      const outputs: Array<{ call: IngestCall; writes: IngestWrites; result: unknown }> = [];
      members.forEach((member, i) => {
        const read = reads[i];
        const step = read && member.program.next(read);
        if (!step || !step.done) {
          if (step) member.call.alone = true;
          left.push(member.call);
          return;
        }
        outputs.push({ call: member.call, writes: step.value.writes, result: step.value.result });
      });
      const writes = combineWrites(outputs.map((o) => o.writes));
      if (outputs.length) await this.writeIngest(tx, siteId, writes);
      await tx.commit();
      return { done: outputs.map(({ call, result }) => ({ call, result })), left };
    } catch (error) {
      destroy = isConnectionError(error);
      if (!destroy) await tx.rollback().catch(() => (destroy = true));
      throw error;
    } finally {
      tx.end();
      client.release(destroy || undefined);
    }
  }

  /** A program that has the transaction to itself: every read answered in turn, its writes, the commit. */
  private async finishAlone<T>(tx: IngestTx, siteId: string, program: IngestProgram<T>, first: IteratorResult<IngestRead, { writes: IngestWrites; result: T }>): Promise<T> {
    let step = first;
    while (!step.done) step = program.next(await tx.answer(siteId, step.value));
    await this.writeIngest(tx, siteId, step.value.writes);
    await tx.commit();
    return step.value.result;
  }

  private async writeIngest(tx: IngestTx, siteId: string, writes: IngestWrites) {
    if (!hasWrites(writes)) return;
    const missing = this.partitions.missing(writes.events.map((w) => w.event.timestamp));
    if (missing.length) throw new MissingPartitions(missing);
    try {
      await tx.write(siteId, writes);
    } catch (error) {
      // 23514: a partition that another node dropped, or that this one never heard of.
      if (isState(error, '23514') && /partition/i.test((error as Error).message)) {
        throw new MissingPartitions(writes.events.map((w) => monthStart(w.event.timestamp)));
      }
      throw error;
    }
  }

  // Events and profiles

  async listEvents(query: EventQuery): Promise<Page<StoredEvent>> {
    const where = ['site_id = $1'];
    const params: unknown[] = [query.siteId];
    const param = (value: unknown) => (params.push(typeof value === 'string' ? pgText(value) : value), `$${params.length}`);
    if (query.type) where.push(`type = ${param(query.type)}`);
    if (query.profileId) where.push(`profile_id = ${param(query.profileId)}`);
    // The sender index holds anonymous ids (the sender of every message that has one).
    if (query.anonymousId) where.push(`sender = ${param(query.anonymousId)} AND anonymous_id = ${param(query.anonymousId)}`);
    if (query.userId) where.push(`user_id = ${param(query.userId)}`);
    const before = query.cursor ? decodeCursor(query.cursor) : null;
    if (before !== null) where.push(`seq < ${param(before)}`);
    const { rows } = await this.query<EventRow>(
      `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ${param(query.limit + 1)}`,
      params,
    );
    return pageOf(rows, query.limit, eventFromRow, (r) => encodeCursor(r.seq));
  }

  async getProfile(siteId: string, id: string): Promise<ProfileRecord | null> {
    const { rows } = await this.query<ProfileRow>(prepared('SELECT * FROM profiles WHERE site_id = $1 AND id = $2', [siteId, id]));
    return rows[0] ? profileFromRow(rows[0]) : null;
  }

  async findProfileId(siteId: string, kind: IdentityKind, value: string): Promise<string | null> {
    const { rows } = await this.query<{ profile_id: string }>(
      prepared('SELECT profile_id FROM identities WHERE site_id = $1 AND kind = $2 AND value = $3', [siteId, kind, pgText(value)]),
    );
    return rows[0]?.profile_id ?? null;
  }

  async findProfile(siteId: string, identities: Identity[]): Promise<ProfileRecord | null> {
    if (identities.length === 0) return null;
    const { rows } = await this.query<ProfileRow>(
      prepared(
        // Index probes per key whatever the statistics (see WORKING_SET_SQL).
        `SELECT p.* FROM profiles p WHERE p.site_id = $1 AND p.id = (
           SELECT o.profile_id FROM (
             SELECT k.n, (SELECT i.profile_id FROM identities i WHERE i.site_id = $1 AND i.kind = k.kind AND i.value = k.value) AS profile_id
             FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS k(kind, value, n)) o
           WHERE o.profile_id IS NOT NULL ORDER BY o.n LIMIT 1)`,
        [siteId, identities.map((k) => k.kind), pgTexts(identities.map((k) => k.value))],
      ),
    );
    return rows[0] ? profileFromRow(rows[0]) : null;
  }

  async profileIdentities(siteId: string, id: string): Promise<Identity[]> {
    return (await this.identitiesOf((text, values) => this.query(text, values), siteId, id));
  }

  private async identitiesOf(q: Query, siteId: string, id: string): Promise<Identity[]> {
    const { rows } = await q<Identity>(
      'SELECT kind, value FROM identities WHERE site_id = $1 AND profile_id = $2 ORDER BY kind, created_at, value',
      [siteId, id],
    );
    return rows;
  }

  async profileMerges(siteId: string, id: string): Promise<MergeRecord[]> {
    return this.mergesOf((text, values) => this.query(text, values), siteId, id);
  }

  private async mergesOf(q: Query, siteId: string, id: string): Promise<MergeRecord[]> {
    const { rows } = await q<MergeRow>(
      // A UNION rather than an OR, so that each side uses its own index.
      `SELECT * FROM merges WHERE site_id = $1 AND into_profile = $2
       UNION SELECT * FROM merges WHERE site_id = $1 AND from_profile = $2
       ORDER BY at, seq`,
      [siteId, id],
    );
    return rows.map(mergeFromRow);
  }

  async listProfiles(query: ProfileQuery): Promise<Page<ProfileRecord>> {
    const where = ['p.site_id = $1', 'p.merged_into IS NULL'];
    const params: unknown[] = [query.siteId];
    const param = (value: unknown) => (params.push(typeof value === 'string' ? pgText(value) : value), `$${params.length}`);
    const identity = (kinds: string, value: string) =>
      `p.id IN (SELECT profile_id FROM identities WHERE site_id = $1 AND kind IN (${kinds}) AND value = ${value})`;
    if (query.userId) where.push(identity(`'user', 'alias'`, param(query.userId)));
    if (query.anonymousId) where.push(identity(`'anonymous'`, param(query.anonymousId)));
    if (query.email) {
      const email = param(query.email.trim().toLowerCase());
      where.push(`(p.email = ${email} OR ${identity(`'email'`, email)})`);
    }
    if (query.q) {
      // ILIKE on text of collation "C" folds ASCII letters only: SQLite's LIKE, with its escapes.
      const like = param(`%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      const q = param(query.q);
      where.push(`(p.id = ${q} OR p.user_id ILIKE ${like} ESCAPE '\\' OR p.email ILIKE ${like} ESCAPE '\\'
        OR p.traits ILIKE ${like} ESCAPE '\\'
        OR p.id IN (SELECT profile_id FROM identities WHERE site_id = $1 AND value ILIKE ${like} ESCAPE '\\'))`);
    }
    const after = profileCursor(query.cursor);
    if (after) {
      const lastSeen = param(after[0]);
      where.push(`p.last_seen <= ${lastSeen} AND (p.last_seen < ${lastSeen} OR p.id > ${param(after[1])})`);
    }
    const { rows } = await this.query<ProfileRow>(
      `SELECT p.* FROM profiles p WHERE ${where.join(' AND ')}
       ORDER BY p.last_seen DESC NULLS LAST, p.id LIMIT ${param(query.limit + 1)}`,
      params,
    );
    return pageOf(rows, query.limit, profileFromRow, (r) => encodeCursor(r.last_seen ?? 0, r.id));
  }

  async profileEvents(siteId: string, id: string, limit: number, cursor?: string): Promise<Page<StoredEvent>> {
    const after = eventCursor(cursor);
    const { rows } = await this.query<EventRow>(
      after
        ? `SELECT * FROM events WHERE site_id = $1 AND profile_id = $2 AND (timestamp < $4 OR (timestamp = $4 AND seq < $5))
           ORDER BY timestamp DESC, seq DESC LIMIT $3`
        : 'SELECT * FROM events WHERE site_id = $1 AND profile_id = $2 ORDER BY timestamp DESC, seq DESC LIMIT $3',
      after ? [siteId, id, limit + 1, after[0], after[1]] : [siteId, id, limit + 1],
    );
    return pageOf(rows, limit, eventFromRow, (r) => encodeCursor(r.timestamp, r.seq));
  }

  exportProfile(siteId: string, id: string): Promise<ProfileExport | null> {
    return this.transaction(
      async (q) => {
        const { rows } = await q<ProfileRow>('SELECT * FROM profiles WHERE site_id = $1 AND id = $2', [siteId, id]);
        if (!rows[0]) return null;
        const events = await q<EventRow>('SELECT * FROM events WHERE site_id = $1 AND profile_id = $2 ORDER BY timestamp, seq', [
          siteId,
          id,
        ]);
        return {
          profile: profileFromRow(rows[0]),
          identities: await this.identitiesOf(q, siteId, id),
          merges: await this.mergesOf(q, siteId, id),
          events: events.rows.map(eventFromRow),
        };
      },
      { readOnly: true, long: true },
    );
  }

  deleteProfile(siteId: string, id: string, uncount?: (profile: ProfileRecord, events: StoredEvent[]) => RollupWrites): Promise<ErasureResult> {
    return this.transaction(
      async (q) => {
        // Locks the profile and its tombstones first: an ingest writing to them commits before,
        // so that its events are found below, and one that comes after finds them gone.
        const { rows: locked } = await q<ProfileRow>(
          'SELECT * FROM profiles WHERE site_id = $1 AND (id = $2 OR merged_into = $2) ORDER BY id FOR UPDATE',
          [siteId, id],
        );
        const ids = [...new Set([id, ...locked.map((r) => r.id)])];
        const live = locked.find((r) => r.id === id);
        if (uncount && live) {
          const { rows: events } = await q<EventRow>('SELECT * FROM events WHERE site_id = $1 AND profile_id = ANY($2::text[]) ORDER BY seq', [
            siteId,
            ids,
          ]);
          await subtractRollups(q, siteId, uncount(profileFromRow(live), events.map(eventFromRow)));
        }
        const { rows } = await q<ErasureResult & { offer_events: number }>(
          `WITH gone_events AS (
             DELETE FROM events WHERE site_id = $1 AND profile_id = ANY($2::text[]) RETURNING sender, message_id),
           gone_keys AS (
             -- Dedupe keys hold the person's ids (the sender), and a message retried after the
             -- erasure is stored again, as in SQLite.
             DELETE FROM message_keys m USING gone_events g
             WHERE m.site_id = $1 AND m.sender = g.sender AND m.message_id = g.message_id),
           gone_identities AS (DELETE FROM identities WHERE site_id = $1 AND profile_id = ANY($2::text[]) RETURNING 1),
           gone_merges AS (
             DELETE FROM merges WHERE site_id = $1 AND (into_profile = ANY($2::text[]) OR from_profile = ANY($2::text[])) RETURNING 1),
           gone_offer_events AS (DELETE FROM offer_events WHERE site_id = $1 AND profile_id = ANY($2::text[]) RETURNING 1),
           gone_runs AS (DELETE FROM automation_runs WHERE site_id = $1 AND profile_id = ANY($2::text[]) RETURNING 1),
           gone_sends AS (DELETE FROM automation_sends WHERE site_id = $1 AND profile_id = ANY($2::text[])),
           gone_profiles AS (DELETE FROM profiles WHERE site_id = $1 AND id = ANY($2::text[]) RETURNING 1)
           SELECT (SELECT count(*) FROM gone_profiles) AS profiles, (SELECT count(*) FROM gone_identities) AS identities,
             (SELECT count(*) FROM gone_events) AS events, (SELECT count(*) FROM gone_merges) AS merges,
             (SELECT count(*) FROM gone_offer_events) AS offer_events, (SELECT count(*) FROM gone_runs) AS runs`,
          [siteId, ids],
        );
        const r = rows[0];
        // Offer events count as events, as SqliteStore counts them.
        return { profiles: r.profiles, identities: r.identities, events: r.events + r.offer_events, merges: r.merges, runs: r.runs };
      },
      { long: true, change: (erased) => (erased.profiles + erased.events > 0 ? { what: 'rankings', siteId } : null) },
    );
  }

  // Reads over every profile of a site go in keyset pages, each its own short query.

  async rankingInputs(siteId: string): Promise<RankingInput[]> {
    const out: RankingInput[] = [];
    let after = '';
    for (;;) {
      const { rows } = await this.query<{ id: string; orders: number; revenue: number; last_order_at: number | null }>(
        `SELECT id, orders, revenue, last_order_at FROM profiles
         WHERE site_id = $1 AND merged_into IS NULL AND (orders > 0 OR revenue > 0) AND id > $2
         ORDER BY id LIMIT $3`,
        [siteId, after, SCAN_CHUNK],
      );
      for (const r of rows) out.push({ id: r.id, orders: r.orders, revenue: r.revenue, lastOrderAt: r.last_order_at });
      if (rows.length < SCAN_CHUNK) return out;
      after = rows[rows.length - 1].id;
    }
  }

  async rankings(siteId: string, now: number): Promise<PackedRankings> {
    if (this.closed) throw new StoreUnavailableError('the store is closed');
    try {
      return await this.ranker.rank(siteId, now);
    } catch (error) {
      throw storeError(error);
    }
  }

  async scanProfiles(siteId: string, visit: (profile: ProfileRecord) => boolean | void, after?: string): Promise<void> {
    let from = profileCursor(after);
    for (;;) {
      const { rows } = await this.query<ProfileRow>(
        from
          ? // last_seen <= $2 first, so that each step starts in the index where the last one stopped.
            `SELECT * FROM profiles WHERE site_id = $1 AND merged_into IS NULL
               AND last_seen <= $2 AND (last_seen < $2 OR id > $3)
             ORDER BY last_seen DESC, id LIMIT $4`
          : 'SELECT * FROM profiles WHERE site_id = $1 AND merged_into IS NULL ORDER BY last_seen DESC, id LIMIT $2',
        from ? [siteId, from[0], from[1], PROFILE_SCAN_CHUNK] : [siteId, PROFILE_SCAN_CHUNK],
      );
      for (const row of rows) if (visit(profileFromRow(row)) === false) return;
      if (rows.length < PROFILE_SCAN_CHUNK) return;
      const last = rows[rows.length - 1];
      from = [last.last_seen ?? 0, last.id];
    }
  }

  // Segments and offers

  async listSegments(siteId: string): Promise<Segment[]> {
    return (await this.query<SegmentRow>('SELECT * FROM segments WHERE site_id = $1 ORDER BY name', [siteId])).rows.map(segmentFromRow);
  }

  async saveSegment(segment: Segment): Promise<void> {
    try {
      await this.transaction(
        (q) =>
          q(
            `INSERT INTO segments (site_id, id, name, description, rule, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (site_id, id) DO UPDATE SET name = excluded.name, description = excluded.description,
               rule = excluded.rule, updated_at = excluded.updated_at`,
            [segment.siteId, segment.id, segment.name, segment.description, JSON.stringify(segment.rule), segment.createdAt, segment.updatedAt],
          ),
        { change: () => ({ what: 'catalog', siteId: segment.siteId }) },
      );
    } catch (error) {
      if (isState(error, '23505', 'segments_name')) throw new ConflictError(`a segment named "${segment.name}" exists already`);
      throw error;
    }
  }

  deleteSegment(siteId: string, id: string): Promise<boolean> {
    return this.transaction(
      async (q) => ((await q('DELETE FROM segments WHERE site_id = $1 AND id = $2', [siteId, id])).rowCount ?? 0) > 0,
      { change: (deleted) => (deleted ? { what: 'catalog', siteId } : null) },
    );
  }

  async listOffers(siteId: string): Promise<Offer[]> {
    const { rows } = await this.query<OfferRow>('SELECT * FROM offers WHERE site_id = $1 ORDER BY slot, priority DESC, name', [siteId]);
    return rows.map(offerFromRow);
  }

  async saveOffer(offer: Offer): Promise<void> {
    const placeholders = OFFER_COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
    const updates = OFFER_COLUMNS.filter((c) => c !== 'site_id' && c !== 'id' && c !== 'created_at')
      .map((c) => `${c} = excluded.${c}`)
      .join(', ');
    await this.transaction(
      (q) =>
        q(`INSERT INTO offers (${OFFER_COLUMNS.join(', ')}) VALUES (${placeholders}) ON CONFLICT (site_id, id) DO UPDATE SET ${updates}`, offerToParams(offer)),
      { change: () => ({ what: 'catalog', siteId: offer.siteId }) },
    );
  }

  deleteOffer(siteId: string, id: string): Promise<boolean> {
    return this.transaction(
      async (q) => {
        await q('DELETE FROM offer_events WHERE site_id = $1 AND offer_id = $2', [siteId, id]);
        return ((await q('DELETE FROM offers WHERE site_id = $1 AND id = $2', [siteId, id])).rowCount ?? 0) > 0;
      },
      { change: (deleted) => (deleted ? { what: 'catalog', siteId } : null) },
    );
  }

  async offerEvents(siteId: string, offerId: string): Promise<OfferEventRow[]> {
    const { rows } = await this.query<{ profile_id: string; kind: OfferEventRow['kind']; timestamp: number }>(
      'SELECT profile_id, kind, timestamp FROM offer_events WHERE site_id = $1 AND offer_id = $2 ORDER BY timestamp, seq',
      [siteId, offerId],
    );
    return rows.map((r) => ({ profileId: r.profile_id, kind: r.kind, timestamp: r.timestamp }));
  }

  async firstEventsBetween(siteId: string, event: string, windows: Array<{ profileId: string; from: number; to: number }>): Promise<Array<number | null>> {
    const out: Array<number | null> = [];
    for (let i = 0; i < windows.length; i += WINDOW_CHUNK) {
      const chunk = windows.slice(i, i + WINDOW_CHUNK);
      // One index lookup per visitor, all in one statement.
      const { rows } = await this.query<{ ts: number | null }>(
        `SELECT (SELECT e.timestamp FROM events e
                 WHERE e.site_id = $1 AND e.profile_id = w.profile_id AND e.timestamp >= w.from_ts AND e.timestamp <= w.to_ts
                   AND e.type = 'track' AND e.name = $2
                 ORDER BY e.timestamp LIMIT 1) AS ts
         FROM unnest($3::text[], $4::bigint[], $5::bigint[]) WITH ORDINALITY AS w(profile_id, from_ts, to_ts, n)
         ORDER BY w.n`,
        [siteId, event, chunk.map((w) => w.profileId), chunk.map((w) => w.from), chunk.map((w) => w.to)],
      );
      for (const r of rows) out.push(r.ts);
    }
    return out;
  }

  // Rollups

  async rollupDays(siteId: string, from: number, to: number): Promise<Array<{ day: number } & DayCounts>> {
    return (await this.query<{ day: number } & DayCounts>(prepared(ROLLUP_DAYS_SQL, [siteId, from, to]))).rows;
  }

  async rollupTouches(siteId: string, touch: TouchKind, from: number, to: number, by: TouchField[]): Promise<Array<Partial<TouchKey> & TouchCounts>> {
    return (await this.query<Partial<TouchKey> & TouchCounts>(prepared(rollupTouchesSql(by), [siteId, touch, from, to]))).rows;
  }

  async ordersBetween(siteId: string, from: number, to: number): Promise<StoredEvent[]> {
    const { rows } = await this.query<EventRow>(
      prepared("SELECT * FROM events WHERE site_id = $1 AND timestamp BETWEEN $2 AND $3 AND type = 'track' AND name = $4", [siteId, from, to, ORDER_COMPLETED]),
    );
    return rows.map(eventFromRow);
  }

  async countIdentified(siteId: string): Promise<number> {
    const { rows } = await this.query<{ n: number }>(
      prepared('SELECT COUNT(*) AS n FROM profiles WHERE site_id = $1 AND user_id IS NOT NULL AND merged_into IS NULL', [siteId]),
    );
    return rows[0].n;
  }

  async profileHistories(siteId: string, afterId: string | null, limit: number): Promise<Array<{ profile: ProfileRecord; events: StoredEvent[] }>> {
    return this.transaction(
      async (q) => {
        const { rows } = await q<ProfileRow>(
          'SELECT * FROM profiles WHERE site_id = $1 AND id > $2 AND merged_into IS NULL ORDER BY id LIMIT $3',
          [siteId, afterId ?? '', limit],
        );
        const histories = rows.map((row) => ({ profile: profileFromRow(row), events: [] as StoredEvent[] }));
        const byId = new Map(histories.map((h) => [h.profile.id, h]));
        if (rows.length) {
          const events = await q<EventRow>('SELECT * FROM events WHERE site_id = $1 AND profile_id = ANY($2::text[]) ORDER BY seq', [
            siteId,
            rows.map((r) => r.id),
          ]);
          for (const row of events.rows) byId.get(row.profile_id)?.events.push(eventFromRow(row));
        }
        return histories;
      },
      { readOnly: true, long: true },
    );
  }

  async updateComputed(siteId: string, profiles: ProfileRecord[]): Promise<void> {
    if (profiles.length === 0) return;
    const touches = profiles.map(firstTouchColumns);
    await this.query(
      `UPDATE profiles p SET computed = u.computed, first_source = u.first_source, first_medium = u.first_medium
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS u(id, computed, first_source, first_medium)
       WHERE p.site_id = $1 AND p.id = ANY($2::text[]) AND p.id = u.id`,
      [siteId, profiles.map((p) => p.id), profiles.map((p) => JSON.stringify(p.computed)), pgTexts(touches.map((t) => t.first_source)), pgTexts(touches.map((t) => t.first_medium))],
    );
  }

  replaceRollups(siteId: string, rollups: RollupWrites): Promise<void> {
    return this.transaction(
      async (q) => {
        for (const { text, values } of replaceRollupsStatements(siteId, rollups)) await q(text, values);
      },
      { long: true },
    );
  }

  // Reports over events: the database does the work (report-queries.ts).

  async funnel(siteId: string, query: FunnelQuery): Promise<FunnelCounts> {
    const by = query.by;
    const params = funnelParams(siteId, query);
    if (by && 'segment' in by) {
      // A segment is a rule of the application: the entrants come back with their steps, and
      // what the rule reads of their profiles comes a chunk at a time, in the same snapshot.
      return this.reportRead(async (q) => {
        const { rows } = await q<{ profile_id: string; n: number }>(funnelPeopleSql(query.steps), params);
        const entrants = rows.map((r) => ({ id: r.profile_id, reached: r.n }));
        const load = async (ids: string[]) => (await q<ProfileRow>(RULE_PROFILES_BY_ID_SQL, [siteId, ids])).rows.map(ruleProfileFromRow);
        return tallyBySegment(query.steps.length, entrants, by.segment, load, SEGMENT_CHUNK);
      });
    }
    const touch = by ? by.touch : null;
    const { rows } = await this.reportRead((q) => q<{ key: string; n: number; people: number }>(funnelSql(query.steps, touch), params));
    const tally = new FunnelTally(query.steps.length);
    for (const r of rows) tally.add(r.n, r.key, r.people);
    const counts = tally.counts();
    return touch ? counts : { steps: counts.steps };
  }

  async cohorts(siteId: string, query: CohortQuery): Promise<CohortCounts> {
    const statement = cohortStatement(siteId, query);
    const { rows } = await this.reportRead((q) => q<{ c: number; key: string; k: number; people: number }>(statement.text, statement.values));
    const empty = (): CohortRow[] =>
      Array.from({ length: query.cohortWeeks }, (_, c) => ({ week: query.from + 7 * c, people: 0, returned: new Array<number>(query.weeks).fill(0) }));
    const all = empty();
    const groups = new Map<string, CohortRow[]>();
    for (const r of rows) {
      let group = groups.get(r.key);
      if (!group) groups.set(r.key, (group = empty()));
      for (const cohort of [all[r.c], group[r.c]]) {
        if (r.k === 0) cohort.people += r.people;
        else cohort.returned[r.k - 1] += r.people;
      }
    }
    return query.bySource ? { cohorts: all, groups: [...groups].map(([key, cohorts]) => ({ key, cohorts })) } : { cohorts: all };
  }

  /**
   * A report's read: one snapshot, the long statement timeout, and no JIT, whose compiling cost
   * these statements about half a second each at a million profiles and saved nothing (their
   * large cost estimates always cross jit_above_cost).
   */
  private reportRead<T>(work: (q: Query) => Promise<T>): Promise<T> {
    return this.transaction(
      async (q) => {
        await q('SET LOCAL jit = off');
        return work(q);
      },
      { readOnly: true, long: true },
    );
  }
}

/**
 * One ingest transaction on one connection: begins at its first statement, answers the
 * pipeline's reads (see `IngestRead`), and writes what the pipeline decided in a few statements.
 */
class IngestTx {
  private begun = false;
  /** The rollup shard this transaction writes to, held until it ends. */
  private shard: number | null = null;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly shards: RollupShards,
  ) {}

  private async begin() {
    if (!this.begun) await this.client.query(BEGIN);
    this.begun = true;
  }

  /**
   * Locks every identity (absent ones too) with a transaction-level advisory lock, in ascending
   * order of their hashes so that two transactions never wait on each other in a circle; then,
   * in one more statement, reads the owners of the identities, locks their profiles (in id
   * order) until commit, and reads the dedupe keys. Being a later statement, under READ
   * COMMITTED the read sees every commit made before the locks were ours.
   */
  async answer(siteId: string, request: IngestRead): Promise<WorkingSetRead | HistoryRead> {
    if (request.read === 'history') return this.history(siteId, request);
    const locks = [...new Set(request.identities.map((k) => lockKey(siteId, k)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (locks.length) {
      // The lock keys are integers made here, so they go inline, and BEGIN rides along in the
      // same round trip. The sorted subquery (OFFSET 0 keeps it one) fixes the order of the locks.
      const lock = `SELECT pg_advisory_xact_lock(k) FROM (SELECT k FROM unnest('{${locks.join(',')}}'::bigint[]) AS k ORDER BY k OFFSET 0) s`;
      await this.client.query(this.begun ? lock : `${BEGIN}; ${lock}`);
      this.begun = true;
    } else {
      await this.begin();
    }
    const { rows } = await this.client.query<ProfileRow & { owners_: Array<string | null> | null; existing_: boolean[] }>(
      prepared(WORKING_SET_SQL, [
        siteId,
        request.identities.map((k) => k.kind),
        pgTexts(request.identities.map((k) => k.value)),
        pgTexts(request.messages.map((k) => k.sender)),
        pgTexts(request.messages.map((k) => k.messageId)),
      ]),
    );
    const owners = rows[0].owners_ ?? [];
    const found = rows.filter((r) => r.id !== null);
    // A tombstone or a missing profile means that another node merged or erased it after its
    // identity was committed: the read is stale, start again.
    if (found.length < new Set(owners.filter((id) => id !== null)).size || found.some((r) => r.merged_into !== null)) {
      throw new StaleReadError();
    }
    return { owners, existing: rows[0].existing_, profiles: found.map(profileFromRow) };
  }

  /** A split's read, after its working set locked the identities: the two profiles locked, then the rest. */
  private async history(siteId: string, { profileId, otherId, withEvents }: HistoryRequest): Promise<HistoryRead> {
    await this.begin();
    const q = (text: string, values: unknown[]) => this.client.query(text, values);
    const { rows } = await q('SELECT * FROM profiles WHERE site_id = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE', [
      siteId,
      [profileId, otherId],
    ]);
    const profile = rows.find((r) => r.id === profileId);
    const other = rows.find((r) => r.id === otherId);
    const [identities, events, tombstones, merges] = await Promise.all([
      q('SELECT kind, value FROM identities WHERE site_id = $1 AND profile_id = $2 ORDER BY kind, created_at, value', [siteId, profileId]),
      withEvents
        ? q('SELECT * FROM events WHERE site_id = $1 AND profile_id = $2 ORDER BY timestamp, seq', [siteId, profileId])
        : Promise.resolve({ rows: [] }),
      q('SELECT id FROM profiles WHERE site_id = $1 AND merged_into = $2', [siteId, profileId]),
      q(
        `SELECT * FROM merges WHERE site_id = $1 AND (into_profile = ANY($2::text[]) OR from_profile = ANY($2::text[]))
         ORDER BY at, seq`,
        [siteId, [profileId, otherId]],
      ),
    ]);
    return {
      profile: profile ? profileFromRow(profile) : null,
      other: other ? profileFromRow(other) : null,
      identities: identities.rows as Identity[],
      events: (events.rows as EventRow[]).map(eventFromRow),
      tombstones: tombstones.rows.map((r) => r.id as string),
      merges: (merges.rows as MergeRow[]).map(mergeFromRow),
    };
  }

  /** What a split moves back (see `SplitWrites`), after the profiles are written. */
  private async split(siteId: string, split: SplitWrites) {
    const q = (text: string, values: unknown[]) => this.client.query(text, values);
    await q('UPDATE events SET profile_id = $2 WHERE site_id = $1 AND profile_id = $3 AND seq = ANY($4::bigint[])', [
      siteId,
      split.restored,
      split.live,
      split.eventIds,
    ]);
    await q('UPDATE profiles SET merged_into = $2 WHERE site_id = $1 AND merged_into = $3 AND id = ANY($4::text[])', [
      siteId,
      split.restored,
      split.live,
      split.tombstones,
    ]);
    await q('DELETE FROM offer_events WHERE site_id = $1 AND profile_id = ANY($2::text[])', [siteId, [split.live, split.restored]]);
    const o = split.offerEvents;
    if (o.length) {
      await q(
        `INSERT INTO offer_events (site_id, offer_id, profile_id, kind, timestamp)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[])`,
        [siteId, pgTexts(o.map((e) => e.offerId)), o.map((e) => e.profileId), o.map((e) => e.kind), o.map((e) => e.timestamp)],
      );
    }
    await q(
      `UPDATE merges SET detail = jsonb_set(coalesce(detail, '{}')::jsonb, '{undoneAt}', to_jsonb($3::bigint))::text
       WHERE site_id = $1 AND seq = $2`,
      [siteId, split.undo.mergeId, split.undo.at],
    );
  }

  /**
   * The writes of SqliteStore.applyWrites: each merge that moves rows is one statement (they
   * run in order: a later merge may move what an earlier one moved), and everything else is
   * one statement of data-modifying CTEs over arrays, whatever the number of rows.
   */
  async write(siteId: string, writes: IngestWrites): Promise<void> {
    await this.begin();
    for (const merge of writes.merges) {
      if (!movesRows(merge)) continue;
      if (merge.snapshot) {
        // What a split will give back: the rows of the profile as it goes (rows locked by the working set).
        const { rows } = await this.client.query<{ identities: Identity[] | null; tombstones: string[] | null }>(
          `SELECT (SELECT json_agg(json_build_object('kind', kind, 'value', value) ORDER BY kind, created_at, value)
                   FROM identities WHERE site_id = $1 AND profile_id = $2) AS identities,
                  (SELECT array_agg(id) FROM profiles WHERE site_id = $1 AND merged_into = $2) AS tombstones`,
          [siteId, merge.from],
        );
        merge.snapshot.identities = rows[0].identities ?? [];
        merge.snapshot.tombstones = rows[0].tombstones ?? [];
      }
      await this.client.query(prepared(MOVE_PROFILE_SQL, [siteId, merge.into, merge.from]));
    }

    const params: unknown[] = [siteId, Date.now()];
    const param = (value: unknown, type: string) => (params.push(value), `$${params.length}::${type}`);
    const array = (values: unknown[], type: string) => param(type === 'text' ? pgTexts(values) : values, `${type}[]`);
    const json = (values: unknown[]) => param(JSON.stringify(values), 'json');
    const parts: string[] = [];

    const merges = writes.merges;
    if (merges.length) {
      parts.push(`merges_written AS (
        INSERT INTO merges (site_id, into_profile, from_profile, rule, ids, message_id, at, detail)
        SELECT $1, m.into_profile, m.from_profile, m.rule, m.ids, m.message_id, m.at, m.detail
        FROM unnest(${array(merges.map((m) => m.into), 'text')}, ${array(merges.map((m) => m.from), 'text')},
          ${array(merges.map((m) => m.rule), 'text')}, ${array(merges.map((m) => JSON.stringify(m.ids)), 'text')},
          ${array(merges.map((m) => m.messageId), 'text')}, ${array(merges.map((m) => m.at), 'bigint')},
          ${array(merges.map(mergeDetailOf), 'text')})
          WITH ORDINALITY AS m(into_profile, from_profile, rule, ids, message_id, at, detail, n)
        ORDER BY m.n)`);
    }

    const upserts = writes.identities.filter((c) => c.profileId !== null);
    if (upserts.length) {
      parts.push(`identities_upserted AS (
        INSERT INTO identities (site_id, kind, value, profile_id, created_at)
        SELECT $1, u.kind, u.value, u.profile_id, $2
        FROM unnest(${array(upserts.map((c) => c.kind), 'text')}, ${array(upserts.map((c) => c.value), 'text')},
          ${array(upserts.map((c) => c.profileId), 'text')}) AS u(kind, value, profile_id)
        ON CONFLICT (site_id, kind, value) DO UPDATE SET profile_id = excluded.profile_id)`);
    }
    const removals = writes.identities.filter((c) => c.profileId === null);
    if (removals.length) {
      parts.push(`identities_removed AS (
        DELETE FROM identities i
        USING unnest(${array(removals.map((c) => c.kind), 'text')}, ${array(removals.map((c) => c.value), 'text')}) AS d(kind, value)
        WHERE i.site_id = $1 AND i.value = ANY(${array(removals.map((c) => c.value), 'text')}) AND i.kind = d.kind AND i.value = d.value)`);
    }

    const profileRows = (profiles: ProfileRecord[]) => rowsFrom(PROFILE_COLUMNS, profileColumns(profiles), 'u', array, json);
    const profileNames = PROFILE_COLUMNS.map(([name]) => name);
    if (writes.newProfiles.length) {
      parts.push(`profiles_made AS (
        INSERT INTO profiles (site_id, ${profileNames.join(', ')})
        SELECT $1, ${profileNames.map((n) => `u.${n}`).join(', ')} FROM ${profileRows(writes.newProfiles)})`);
    }
    if (writes.changedProfiles.length) {
      const set = profileNames.filter((n) => n !== 'id' && n !== 'created_at').map((n) => `${n} = u.${n}`);
      parts.push(`profiles_changed AS (
        UPDATE profiles p SET ${set.join(', ')}
        FROM ${profileRows(writes.changedProfiles)}
        WHERE p.site_id = $1 AND p.id = ANY(${array(writes.changedProfiles.map((p) => p.id), 'text')}) AND p.id = u.id)`);
    }

    const events = writes.events;
    if (events.length) {
      const columns = eventColumns(events);
      const names = EVENT_COLUMNS.map(([name]) => name);
      // In order, so that seq follows the order of the batch (newest-first lists, first page views).
      parts.push(`events_written AS (
        INSERT INTO events (site_id, ${names.join(', ')})
        SELECT $1, ${names.map((n) => `e.${n}`).join(', ')}
        FROM ${rowsFrom(EVENT_COLUMNS, columns, 'e', array, json)}
        ORDER BY e.n)`);
      // A plain insert: a concurrent writer of the same message makes it a unique violation,
      // which retries the transaction, whose dedupe read then finds the message.
      parts.push(`keys_written AS (
        INSERT INTO message_keys (site_id, sender, message_id, received_at)
        SELECT $1, * FROM unnest(${array(columns.sender, 'text')}, ${array(columns.message_id, 'text')}, ${array(columns.received_at, 'bigint')}))`);
      const offers = events.filter((w) => w.offer);
      if (offers.length) {
        parts.push(`offer_events_written AS (
          INSERT INTO offer_events (site_id, offer_id, profile_id, kind, timestamp)
          SELECT $1, o.offer_id, o.profile_id, o.kind, o.timestamp
          FROM unnest(${array(offers.map((w) => w.offer!.offerId), 'text')}, ${array(offers.map((w) => w.profileId), 'text')},
            ${array(offers.map((w) => w.offer!.kind), 'text')}, ${array(offers.map((w) => w.event.timestamp), 'bigint')})
            WITH ORDINALITY AS o(offer_id, profile_id, kind, timestamp, n)
          ORDER BY o.n)`);
      }
    }
    // The shard is a parameter, so that the statement's text (and its prepared name) does not vary with it.
    if (writes.rollups.days.length + writes.rollups.touches.length) {
      this.shard ??= this.shards.take();
      params.push(this.shard);
      parts.push(...rollupParts(writes.rollups, array, `$${params.length}::smallint`));
    }
    // $1 and $2 are typed wherever a statement leaves them unused.
    if (parts.length) await this.client.query(prepared(`WITH ${parts.join(',\n')} SELECT $1::text, $2::bigint`, params));
    if (writes.split) await this.split(siteId, writes.split);
  }

  async commit() {
    try {
      if (this.begun) await this.client.query('COMMIT');
    } finally {
      this.end();
    }
  }

  async rollback() {
    try {
      if (this.begun) await this.client.query('ROLLBACK');
    } finally {
      this.end();
    }
  }

  /** Gives the shard back; the connection's transaction, if one is open, is the caller's to end. */
  end() {
    this.begun = false;
    if (this.shard !== null) this.shards.release(this.shard);
    this.shard = null;
  }
}

const hasWrites = (w: IngestWrites) =>
  w.split !== undefined ||
  w.merges.length + w.identities.length + w.newProfiles.length + w.changedProfiles.length + w.events.length + w.rollups.days.length + w.rollups.touches.length >
  0;

/** The advisory lock of an identity: 64 bits of a hash of site, kind and value. */
function lockKey(siteId: string, identity: Identity): bigint {
  return createHash('sha256').update(`${siteId}\u0000${identity.kind}\u0000${identity.value}`).digest().readBigInt64BE(0);
}

/** A listProfiles / scanProfiles cursor: [lastSeen, id], or null when it is not one. */
function profileCursor(cursor: string | undefined): [number, string] | null {
  const parts = cursor ? decodeCursorParts(cursor) : null;
  return parts && typeof parts[0] === 'number' && typeof parts[1] === 'string' ? [parts[0], parts[1]] : null;
}

/** A profileEvents cursor: [timestamp, seq], or null when it is not one. */
function eventCursor(cursor: string | undefined): [number, number] | null {
  const parts = cursor ? decodeCursorParts(cursor) : null;
  return parts && typeof parts[0] === 'number' && typeof parts[1] === 'number' ? [parts[0], parts[1]] : null;
}

