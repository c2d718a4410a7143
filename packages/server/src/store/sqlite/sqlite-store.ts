import type Database from 'better-sqlite3';
import { runProgram } from '../../collect/pipeline.js';
import type { Offer, OfferEventRow, Segment } from '../../decisions/types.js';
import type { DayCounts, RollupWrites, TouchCounts, TouchKind } from '../../reports/rollups.js';
import {
  ConflictError,
  StoreUnavailableError,
  type CohortCounts,
  type CohortQuery,
  type FunnelCounts,
  type FunnelQuery,
  type RetentionResult,
  type Store,
  type TouchField,
} from '../store.js';
import { tallyBySegment } from '../report-tally.js';
import type { ProfileRecord } from '../../profiles/types.js';
import {
  DEFAULT_SITE_SETTINGS,
  movesRows,
  type ErasureResult,
  type EventQuery,
  type Identity,
  type MergeRecord,
  type ProfileExport,
  type ProfileQuery,
  type RankingInput,
  type SessionRow,
  type IdentityKind,
  type IngestProgram,
  type IngestRead,
  type WorkingSetRead,
  type HistoryRead,
  type SplitWrites,
  type IngestWrites,
  type NewSite,
  type Page,
  type Site,
  type SitePatch,
  type StoredEvent,
  type TouchKey,
} from '../types.js';
import { decodeCursor, decodeCursorParts, encodeCursor } from '../cursor.js';
import { packRankings, RANKING_SOURCE, type PackedRankings } from '../../profiles/rankings.js';
import { Checkpointer, WRITER_CHECKPOINT_PAGES } from './checkpointer.js';
import { SqliteAutomations } from './automations.js';
import { SqliteRecommendations } from './recommendations.js';
import { GroupCommit } from './group-commit.js';
import { SqliteRollups } from './rollups.js';
import { ReadWorker } from './read-worker.js';
import { cohortCounts, cohortSql, funnelPeople, REPORT_JOBS, REPORT_SOURCE, stepSql, touchSql, type CohortJobArgs, type FunnelJobArgs, type FunnelJobResult } from './report-queries.js';
import { ORDER_COMPLETED } from '../../profiles/computed.js';
import { openDatabase, WalSync, type OpenOptions } from './open.js';
import {
  eventFromRow,
  firstTouchColumns,
  mergeDetailOf,
  mergeFromRow,
  offerFromRow,
  pageOf,
  profileFromRow,
  profileToParams,
  RULE_PROFILE_COLUMNS,
  ruleProfileFromRow,
  segmentFromRow,
  siteFromRow,
  type EventData,
  type EventRow,
  type MergeRow,
  type OfferRow,
  type ProfileRow,
  type SegmentRow,
  type SiteRow,
} from '../rows.js';

/**
 * Rows read per step of a scan over all profiles of a site, sized so that one step takes a few
 * milliseconds at most: a step holds the event loop, and with it every decision waiting. Whole
 * profiles (JSON to parse) make slower steps than the few columns the rankings read.
 */
const SCAN_CHUNK = 2000;
/** Rows deleted per write transaction by retention. */
const RETENTION_CHUNK = 5000;
const PROFILE_SCAN_CHUNK = 250;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The embedded store: one SQLite file in WAL mode, prepared statements made once, one
 * transaction per call, and group commit for concurrent ingest calls.
 *
 * @example
 * const store = SqliteStore.open('./data/rapport.db');
 * await ingest(store, site, events); // collect/pipeline.ts
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly db: Database.Database;
  private readonly writer: GroupCommit;
  private readonly wal: WalSync;
  private readonly sql;
  private readonly rollups: SqliteRollups;
  /** Long reads off the event loop; null in memory, where only this connection can read. */
  private readonly reader: ReadWorker | null;
  private readonly checkpointer: Checkpointer | null;
  readonly automations: SqliteAutomations;
  readonly recommendations: SqliteRecommendations;

  private constructor(db: Database.Database, wal: WalSync, file: string | null, checkpoints: OpenOptions['checkpoints']) {
    this.db = db;
    this.wal = wal;
    this.checkpointer = file && checkpoints === 'background' ? new Checkpointer(file) : null;
    if (this.checkpointer) db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
    this.writer = new GroupCommit(db, () => wal.sync());
    this.reader = file ? new ReadWorker(file, READ_JOBS) : null;
    this.sql = prepare(db);
    this.rollups = new SqliteRollups(db);
    this.automations = new SqliteAutomations(db, (work) => this.write(work));
    this.recommendations = new SqliteRecommendations(
      db,
      (work) => this.write(work),
      async (sql, params) => (this.reader ? this.reader.run<unknown[]>('rows', { sql, params }) : db.prepare(sql).all(params)),
    );
  }

  static open(file: string, options: OpenOptions = {}): SqliteStore {
    const durable = file !== ':memory:' && options.synchronous !== 'normal';
    const db = openDatabase(file, options);
    return new SqliteStore(db, new WalSync(durable ? `${file}-wal` : null), file === ':memory:' ? null : file, options.checkpoints);
  }

  /**
   * Every write goes through the group commit, so that every acknowledged write is durable. The
   * write lock held by another connection (the writer thread's) past the busy timeout means
   * nothing was written and a retry may succeed: the store is unavailable, not broken.
   */
  private write<T>(work: () => T): Promise<T> {
    return this.writer.submit(work).catch((error: unknown) => {
      if ((error as { code?: string } | null)?.code?.startsWith('SQLITE_BUSY')) {
        throw new StoreUnavailableError('the database stayed locked by another writer; nothing was written', error);
      }
      throw error;
    });
  }

  async health(): Promise<boolean> {
    try {
      return (this.db.prepare('SELECT 1 AS ok').get() as { ok: number }).ok === 1;
    } catch {
      return false;
    }
  }

  async schemaVersion(): Promise<number> {
    return (this.db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number | null) ?? 0;
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    await this.writer.drain();
    await this.checkpointer?.stop();
    await this.reader?.close();
    this.wal.close();
    this.db.close();
  }

  /** One process owns the file (the CLI's writes are found by SiteDirectory's refresh on a miss). */
  onChange(): () => void {
    return () => {};
  }

  lease(name: string, holder: string, ms: number): Promise<boolean> {
    return this.write(() => {
      const now = Date.now();
      return this.sql.takeLease.get({ name, holder, until: now + ms, now }) !== undefined;
    });
  }

  async applyRetention(cutoffs: Array<{ siteId: string; before: number | null }>): Promise<RetentionResult> {
    let events = 0;
    for (const { siteId, before } of cutoffs) {
      if (before === null) continue;
      await this.write(() => this.sql.deleteOfferEventsBefore.run(siteId, before));
      // In chunks, each its own write: one delete of millions of rows would hold every ingest.
      for (;;) {
        const deleted = await this.write(() => this.sql.deleteEventsBefore.run(siteId, before, RETENTION_CHUNK).changes);
        events += deleted;
        if (deleted < RETENTION_CHUNK) break;
        await nextTurn();
      }
    }
    return { events, partitionsDropped: 0 };
  }

  saveSession(session: SessionRow, keep: number): Promise<void> {
    return this.write(() => {
      this.sql.deleteExpiredSessions.run(session.createdAt);
      this.sql.insertSession.run(session.idHash, session.csrf, session.createdAt, session.expiresAt);
      this.sql.trimSessions.run(keep);
    });
  }

  async getSession(idHash: string, now: number): Promise<SessionRow | null> {
    const row = this.sql.getSession.get(idHash, now) as { csrf: string; created_at: number; expires_at: number } | undefined;
    return row ? { idHash, csrf: row.csrf, createdAt: row.created_at, expiresAt: row.expires_at } : null;
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.write(() => this.sql.deleteSession.run(idHash));
  }

  async getMeta(key: string): Promise<string | null> {
    return (this.sql.getMeta.get(key) as { value: string } | undefined)?.value ?? null;
  }

  setMetaIfAbsent(key: string, value: string): Promise<string> {
    return this.write(() => {
      this.sql.insertMetaIfAbsent.run(key, value);
      return (this.sql.getMeta.get(key) as { value: string }).value;
    });
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.write(() => this.sql.setMeta.run(key, value));
  }

  deleteMeta(prefix: string, keep: string[] = []): Promise<number> {
    return this.write(() => {
      const keys = (this.sql.metaKeys.all() as Array<{ key: string }>).map((r) => r.key);
      let deleted = 0;
      for (const key of keys) if (key.startsWith(prefix) && !keep.includes(key)) deleted += this.sql.deleteMeta.run(key).changes;
      return deleted;
    });
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
    await this.write(() => this.sql.insertSite.run(row));
    return siteFromRow(row);
  }

  updateSite(id: string, patch: SitePatch & { secret?: string }): Promise<Site | null> {
    return this.write(() => {
      const row = this.sql.getSite.get(id) as SiteRow | undefined;
      if (!row) return null;
      const current = siteFromRow(row);
      const next: SiteRow = {
        ...row,
        name: patch.name ?? row.name,
        origins: JSON.stringify(patch.origins ?? current.origins),
        settings: JSON.stringify({ ...current.settings, ...patch.settings }),
        secret: patch.secret ?? row.secret,
      };
      this.sql.updateSite.run(next);
      return siteFromRow(next);
    });
  }

  async listSites(): Promise<Site[]> {
    return (this.sql.listSites.all() as SiteRow[]).map(siteFromRow);
  }

  ingestTransaction<T>(siteId: string, program: () => IngestProgram<T>): Promise<T> {
    return this.write(() => {
      const { writes, result } = runProgram(program(), (request) => this.answer(siteId, request));
      this.applyWrites(siteId, writes);
      return result;
    });
  }

  /** The reads of the ingest pipeline, inside the group's transaction, which nothing else writes meanwhile. */
  private answer(siteId: string, request: IngestRead): WorkingSetRead | HistoryRead {
    const sql = this.sql;
    if (request.read === 'history') {
      const { profileId, otherId } = request;
      const row = sql.getProfile.get(siteId, profileId) as ProfileRow | undefined;
      const other = sql.getProfile.get(siteId, otherId) as ProfileRow | undefined;
      const merges = [profileId, otherId].flatMap((id) => sql.profileMerges.all(siteId, id, siteId, id) as MergeRow[]);
      return {
        profile: row ? profileFromRow(row) : null,
        other: other ? profileFromRow(other) : null,
        identities: sql.profileIdentities.all(siteId, profileId) as Identity[],
        events: request.withEvents ? (sql.allProfileEvents.all(siteId, profileId) as EventRow[]).map(eventFromRow) : [],
        tombstones: sql.tombstonesOf.all(siteId, profileId) as string[],
        merges: uniqueMerges(merges.map(mergeFromRow)),
      };
    }
    const owners = request.identities.map(
      (k) => (sql.getIdentity.get(siteId, k.kind, k.value) as { profile_id: string } | undefined)?.profile_id ?? null,
    );
    const profiles = [...new Set(owners)].flatMap((id) => {
      const row = id === null ? undefined : (sql.getProfile.get(siteId, id) as ProfileRow | undefined);
      return row ? [profileFromRow(row)] : [];
    });
    const existing = request.messages.map((k) => sql.eventExists.get(siteId, k.sender, k.messageId) !== undefined);
    return { owners, existing, profiles };
  }

  private applyWrites(siteId: string, writes: IngestWrites) {
    const sql = this.sql;
    const now = Date.now();
    for (const merge of writes.merges) {
      if (movesRows(merge) && merge.snapshot) {
        // What a split will give back: the rows of the profile as it goes.
        merge.snapshot.identities = sql.profileIdentities.all(siteId, merge.from) as Identity[];
        merge.snapshot.tombstones = sql.tombstonesOf.all(siteId, merge.from) as string[];
      }
      if (movesRows(merge)) {
        sql.moveEvents.run(merge.into, siteId, merge.from);
        sql.moveIdentities.run(merge.into, siteId, merge.from);
        sql.moveOfferEvents.run(merge.into, siteId, merge.from);
        sql.moveRuns.run(merge.into, siteId, merge.from);
        sql.moveSends.run(merge.into, siteId, merge.from);
        sql.repointTombstones.run(merge.into, siteId, merge.from);
      }
      sql.insertMerge.run(siteId, merge.into, merge.from, merge.rule, JSON.stringify(merge.ids), merge.messageId, merge.at, mergeDetailOf(merge));
    }
    for (const change of writes.identities) {
      if (change.profileId === null) sql.deleteIdentity.run(siteId, change.kind, change.value);
      else sql.upsertIdentity.run(siteId, change.kind, change.value, change.profileId, now);
    }
    for (const profile of writes.newProfiles) sql.insertProfile.run(profileToParams(profile));
    for (const profile of writes.changedProfiles) sql.updateProfile.run(profileToParams(profile));
    for (const { event, sender, profileId, sessionId, offer } of writes.events) {
      const data: EventData = { message: event.message, enrichment: event.enrichment, trust: event.trust };
      if (offer) sql.insertOfferEvent.run(siteId, offer.offerId, profileId, offer.kind, event.timestamp);
      sql.insertEvent.run(
        siteId,
        sender,
        event.messageId,
        profileId,
        event.type,
        event.name,
        event.anonymousId,
        event.userId,
        sessionId,
        event.timestamp,
        event.receivedAt,
        JSON.stringify(data),
      );
    }
    if (writes.split) this.applySplit(siteId, writes.split);
    this.rollups.add(siteId, writes.rollups);
  }

  private applySplit(siteId: string, split: SplitWrites) {
    const sql = this.sql;
    // Numbers, so that json_each yields integers to compare with seq.
    sql.moveEventsById.run(split.restored, siteId, split.live, JSON.stringify(split.eventIds.map(Number)));
    sql.repointTombstonesById.run(split.restored, siteId, split.live, JSON.stringify(split.tombstones));
    sql.deleteOfferEvents.run(siteId, split.live);
    sql.deleteOfferEvents.run(siteId, split.restored);
    for (const o of split.offerEvents) sql.insertOfferEvent.run(siteId, o.offerId, o.profileId, o.kind, o.timestamp);
    sql.markUndone.run(split.undo.at, siteId, Number(split.undo.mergeId));
  }

  async listEvents(query: EventQuery): Promise<Page<StoredEvent>> {
    const where = ['site_id = ?'];
    const params: unknown[] = [query.siteId];
    if (query.type) (where.push('type = ?'), params.push(query.type));
    if (query.profileId) (where.push('profile_id = ?'), params.push(query.profileId));
    // The sender index holds anonymous ids (the sender of every message that has one).
    if (query.anonymousId) (where.push('sender = ? AND anonymous_id = ?'), params.push(query.anonymousId, query.anonymousId));
    if (query.userId) (where.push('user_id = ?'), params.push(query.userId));
    const before = query.cursor ? decodeCursor(query.cursor) : null;
    if (before !== null) (where.push('seq < ?'), params.push(before));
    // Without an indexed filter, walk the table backwards: newest first is rowid order, and an
    // index on the site would make SQLite sort every event of the site.
    const table = query.profileId || query.anonymousId || query.userId ? 'events' : 'events NOT INDEXED';
    const rows = this.db
      .prepare(`SELECT * FROM ${table} WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`)
      .all(...params, query.limit + 1) as EventRow[];
    return pageOf(rows, query.limit, eventFromRow, (r) => encodeCursor(r.seq));
  }

  async getProfile(siteId: string, id: string): Promise<ProfileRecord | null> {
    const row = this.sql.getProfile.get(siteId, id) as ProfileRow | undefined;
    return row ? profileFromRow(row) : null;
  }

  async findProfileId(siteId: string, kind: IdentityKind, value: string): Promise<string | null> {
    return (this.sql.getIdentity.get(siteId, kind, value) as { profile_id: string } | undefined)?.profile_id ?? null;
  }

  async findProfile(siteId: string, identities: Identity[]): Promise<ProfileRecord | null> {
    for (const { kind, value } of identities) {
      const owner = this.sql.getIdentity.get(siteId, kind, value) as { profile_id: string } | undefined;
      const row = owner && (this.sql.getProfile.get(siteId, owner.profile_id) as ProfileRow | undefined);
      if (row) return profileFromRow(row);
    }
    return null;
  }

  async profileIdentities(siteId: string, id: string): Promise<Identity[]> {
    return this.sql.profileIdentities.all(siteId, id) as Identity[];
  }

  async profileMerges(siteId: string, id: string): Promise<MergeRecord[]> {
    return (this.sql.profileMerges.all(siteId, id, siteId, id) as MergeRow[]).map(mergeFromRow);
  }

  async listProfiles(query: ProfileQuery): Promise<Page<ProfileRecord>> {
    const where = ['p.site_id = @site', 'p.merged_into IS NULL'];
    const params: Record<string, unknown> = { site: query.siteId, limit: query.limit + 1 };
    const identity = (kind: string, param: string) =>
      `p.id IN (SELECT profile_id FROM identities WHERE site_id = @site AND kind IN (${kind}) AND value = @${param})`;
    if (query.userId) (where.push(identity(`'user', 'alias'`, 'userId')), (params.userId = query.userId));
    if (query.anonymousId) (where.push(identity(`'anonymous'`, 'anonymousId')), (params.anonymousId = query.anonymousId));
    if (query.email) {
      where.push(`(p.email = @email OR ${identity(`'email'`, 'email')})`);
      params.email = query.email.trim().toLowerCase();
    }
    if (query.q) {
      params.like = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push(`(p.id = @q OR p.user_id LIKE @like ESCAPE '\\' OR p.email LIKE @like ESCAPE '\\'
        OR p.traits LIKE @like ESCAPE '\\'
        OR p.id IN (SELECT profile_id FROM identities WHERE site_id = @site AND value LIKE @like ESCAPE '\\'))`);
      params.q = query.q;
    }
    const after = query.cursor ? decodeCursorParts(query.cursor) : null;
    if (after) {
      where.push('p.last_seen <= @lastSeen AND (p.last_seen < @lastSeen OR p.id > @afterId)');
      params.lastSeen = after[0];
      params.afterId = after[1];
    }
    const rows = this.db
      .prepare(
        `SELECT p.* FROM profiles p WHERE ${where.join(' AND ')}
         ORDER BY p.last_seen DESC, p.id LIMIT @limit`,
      )
      .all(params) as ProfileRow[];
    return pageOf(rows, query.limit, profileFromRow, (r) => encodeCursor(r.last_seen ?? 0, r.id));
  }

  async profileEvents(siteId: string, id: string, limit: number, cursor?: string): Promise<Page<StoredEvent>> {
    const after = cursor ? decodeCursorParts(cursor) : null;
    const rows = (
      after
        ? this.sql.profileEventsAfter.all(siteId, id, after[0], after[0], after[1], limit + 1)
        : this.sql.profileEvents.all(siteId, id, limit + 1)
    ) as EventRow[];
    return pageOf(rows, limit, eventFromRow, (r) => encodeCursor(r.timestamp, r.seq));
  }

  async exportProfile(siteId: string, id: string): Promise<ProfileExport | null> {
    const profile = await this.getProfile(siteId, id);
    if (!profile) return null;
    return {
      profile,
      identities: await this.profileIdentities(siteId, id),
      merges: await this.profileMerges(siteId, id),
      events: (this.sql.allProfileEvents.all(siteId, id) as EventRow[]).map(eventFromRow),
    };
  }

  deleteProfile(siteId: string, id: string, uncount?: (profile: ProfileRecord, events: StoredEvent[]) => RollupWrites): Promise<ErasureResult> {
    return this.write(() => {
      const sql = this.sql;
      const tombstones = sql.tombstonesOf.all(siteId, id) as string[];
      const ids = [id, ...tombstones];
      const row = sql.getProfile.get(siteId, id) as ProfileRow | undefined;
      if (uncount && row) {
        const events = this.db
          .prepare(`SELECT * FROM events WHERE site_id = ? AND profile_id IN (${ids.map(() => '?').join(', ')}) ORDER BY seq`)
          .all(siteId, ...ids) as EventRow[];
        this.rollups.subtract(siteId, uncount(profileFromRow(row), events.map(eventFromRow)));
      }
      const result: ErasureResult = { profiles: 0, identities: 0, events: 0, merges: 0, runs: 0 };
      for (const pid of ids) {
        result.events += sql.deleteEvents.run(siteId, pid).changes;
        result.identities += sql.deleteIdentities.run(siteId, pid).changes;
        result.merges += sql.deleteMergesInto.run(siteId, pid).changes + sql.deleteMergesFrom.run(siteId, pid).changes;
        result.events += sql.deleteOfferEvents.run(siteId, pid).changes;
        result.runs += sql.deleteRuns.run(siteId, pid).changes;
        sql.deleteSends.run(siteId, pid);
        result.profiles += sql.deleteProfile.run(siteId, pid).changes;
      }
      return result;
    });
  }

  // Reads over every profile of a site go in chunks with a turn of the event loop between them,
  // so that a ranking or a segment count over a million profiles never stalls collect and decide.

  async rankingInputs(siteId: string): Promise<RankingInput[]> {
    const out: RankingInput[] = [];
    let after = 0;
    for (;;) {
      const rows = this.sql.rankingInputs.all(siteId, after, SCAN_CHUNK) as Array<{
        rowid: number;
        id: string;
        orders: number;
        revenue: number;
        last_order_at: number | null;
      }>;
      for (const r of rows) {
        if (r.orders > 0 || r.revenue > 0) out.push({ id: r.id, orders: r.orders, revenue: r.revenue, lastOrderAt: r.last_order_at });
      }
      if (rows.length < SCAN_CHUNK) return out;
      after = rows[rows.length - 1].rowid;
      await nextTurn();
    }
  }

  async scanProfiles(siteId: string, visit: (profile: ProfileRecord) => boolean | void, after?: string): Promise<void> {
    let from = after ? decodeCursorParts(after) : null;
    for (;;) {
      const rows = (
        from
          ? this.sql.liveProfilesAfter.all(siteId, from[0], from[0], from[1], PROFILE_SCAN_CHUNK)
          : this.sql.liveProfiles.all(siteId, PROFILE_SCAN_CHUNK)
      ) as ProfileRow[];
      for (const row of rows) if (visit(profileFromRow(row)) === false) return;
      if (rows.length < PROFILE_SCAN_CHUNK) return;
      const last = rows[rows.length - 1];
      from = [last.last_seen ?? 0, last.id];
      await nextTurn();
    }
  }

  async listSegments(siteId: string): Promise<Segment[]> {
    return (this.sql.listSegments.all(siteId) as SegmentRow[]).map(segmentFromRow);
  }

  async saveSegment(segment: Segment): Promise<void> {
    try {
      await this.write(() =>
        this.sql.saveSegment.run(
          segment.siteId,
          segment.id,
          segment.name,
          segment.description,
          JSON.stringify(segment.rule),
          segment.createdAt,
          segment.updatedAt,
        ),
      );
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new ConflictError(`a segment named "${segment.name}" exists already`);
      }
      throw error;
    }
  }

  deleteSegment(siteId: string, id: string): Promise<boolean> {
    return this.write(() => this.sql.deleteSegment.run(siteId, id).changes > 0);
  }

  async listOffers(siteId: string): Promise<Offer[]> {
    return (this.sql.listOffers.all(siteId) as OfferRow[]).map(offerFromRow);
  }

  async saveOffer(o: Offer): Promise<void> {
    const params = {
      site_id: o.siteId,
      id: o.id,
      name: o.name,
      slot: o.slot,
      segment_id: o.segmentId,
      priority: o.priority,
      status: o.status,
      content: JSON.stringify(o.content),
      starts_at: o.startsAt,
      ends_at: o.endsAt,
      cap: o.cap && JSON.stringify(o.cap),
      control_percent: o.controlPercent,
      goal: o.goal && JSON.stringify(o.goal),
      created_at: o.createdAt,
      updated_at: o.updatedAt,
    };
    await this.write(() => this.sql.saveOffer.run(params));
  }

  deleteOffer(siteId: string, id: string): Promise<boolean> {
    return this.write(() => {
      this.sql.deleteOfferEventsOf.run(siteId, id);
      return this.sql.deleteOffer.run(siteId, id).changes > 0;
    });
  }

  async offerEvents(siteId: string, offerId: string): Promise<OfferEventRow[]> {
    return (this.sql.offerEvents.all(siteId, offerId) as Array<{ profile_id: string; kind: OfferEventRow['kind']; timestamp: number }>).map(
      (r) => ({ profileId: r.profile_id, kind: r.kind, timestamp: r.timestamp }),
    );
  }

  async firstEventsBetween(siteId: string, event: string, windows: Array<{ profileId: string; from: number; to: number }>): Promise<Array<number | null>> {
    const out: Array<number | null> = [];
    // One index lookup per visitor, with a turn of the event loop between chunks, so that the
    // report of an offer seen by many visitors does not stall collect and decide.
    for (const w of windows) {
      out.push((this.sql.firstEventBetween.get(siteId, w.profileId, w.from, w.to, event) as number | undefined) ?? null);
      if (out.length % SCAN_CHUNK === 0) await nextTurn();
    }
    return out;
  }

  async rankings(siteId: string, now: number): Promise<PackedRankings> {
    if (!this.reader) return packRankings(await this.rankingInputs(siteId), now);
    return this.reader.run<PackedRankings>('rankings', { sql: RANKING_INPUTS_SQL, siteId, now });
  }

  // Console aggregates

  // Rollups

  async rollupDays(siteId: string, from: number, to: number): Promise<Array<{ day: number } & DayCounts>> {
    return this.rollups.days(siteId, from, to);
  }

  async rollupTouches(siteId: string, touch: TouchKind, from: number, to: number, by: TouchField[]): Promise<Array<Partial<TouchKey> & TouchCounts>> {
    return this.rollups.touches(siteId, touch, from, to, by);
  }

  async ordersBetween(siteId: string, from: number, to: number): Promise<StoredEvent[]> {
    return (this.sql.ordersBetween.all(siteId, from, to, ORDER_COMPLETED) as EventRow[]).map(eventFromRow);
  }

  async countIdentified(siteId: string): Promise<number> {
    return this.sql.countIdentified.get(siteId) as number;
  }

  async profileHistories(siteId: string, afterId: string | null, limit: number): Promise<Array<{ profile: ProfileRecord; events: StoredEvent[] }>> {
    const profiles = (this.sql.liveProfilesById.all(siteId, afterId ?? '', limit) as ProfileRow[]).map(profileFromRow);
    const histories = profiles.map((profile) => ({ profile, events: [] as StoredEvent[] }));
    const byId = new Map(histories.map((h) => [h.profile.id, h]));
    if (profiles.length) {
      const rows = this.db
        .prepare(`SELECT * FROM events WHERE site_id = ? AND profile_id IN (${profiles.map(() => '?').join(', ')}) ORDER BY seq`)
        .all(siteId, ...profiles.map((p) => p.id)) as EventRow[];
      for (const row of rows) byId.get(row.profile_id)?.events.push(eventFromRow(row));
    }
    await nextTurn();
    return histories;
  }

  updateComputed(siteId: string, profiles: ProfileRecord[]): Promise<void> {
    return this.write(() => {
      for (const p of profiles) this.sql.updateComputed.run({ computed: JSON.stringify(p.computed), ...firstTouchColumns(p), site_id: siteId, id: p.id });
    });
  }

  replaceRollups(siteId: string, rollups: RollupWrites): Promise<void> {
    return this.write(() => this.rollups.replace(siteId, rollups));
  }

  // Reports over events, in the read worker (report-queries.ts)

  async funnel(siteId: string, query: FunnelQuery): Promise<FunnelCounts> {
    const by = query.by;
    const args: FunnelJobArgs = {
      siteId,
      steps: query.steps.map((step) => ({ sql: stepSql(step), value: 'event' in step ? step.event : step.path })),
      from: query.from,
      to: query.to,
      windowMs: query.windowMs,
      touch: by && 'touch' in by ? touchSql(by.touch) : null,
      people: !!by && 'segment' in by,
    };
    const result = await this.readJob<FunnelJobResult>('funnel', args, () => funnelPeople(this.db, args));
    if (!by || !('segment' in by)) return result;
    // A segment is a rule of the application, evaluated here on what it reads of the entrants'
    // profiles, a chunk at a time with a turn of the event loop between chunks.
    const ids = result.ids ?? [];
    const entrants = ids.map((id, i) => ({ id, reached: result.reached![i] }));
    const load = async (chunk: string[]) => {
      await nextTurn();
      return (this.sql.ruleProfilesById.all(siteId, JSON.stringify(chunk)) as ProfileRow[]).map(ruleProfileFromRow);
    };
    return tallyBySegment(query.steps.length, entrants, by.segment, load, PROFILE_SCAN_CHUNK);
  }

  async cohorts(siteId: string, query: CohortQuery): Promise<CohortCounts> {
    const args: CohortJobArgs = { siteId, query, sql: cohortSql(query) };
    return this.readJob<CohortCounts>('cohorts', args, () => cohortCounts(this.db, args));
  }

  /** A job of the read worker; in memory, where there is none, on this connection. */
  private readJob<T>(job: string, args: unknown, here: () => T): Promise<T> {
    return this.reader ? this.reader.run<T>(job, args) : Promise.resolve().then(here);
  }
}

/** A site's buyers in table order, for the rankings: read whole by the worker, which is not in a hurry. */
const RANKING_INPUTS_SQL = `SELECT id, orders, revenue, last_order_at AS lastOrderAt FROM profiles NOT INDEXED
  WHERE site_id = ? AND merged_into IS NULL AND (orders > 0 OR revenue > 0)`;

/** The jobs of the read worker (see ReadWorker): the rankings, the funnel and cohort reports. */
const READ_JOBS = `${RANKING_SOURCE}
${REPORT_SOURCE}
const jobs = {
  rankings: (db, { sql, siteId, now }) => packRankings(db.prepare(sql).all(siteId), now),
  rows: (db, { sql, params }) => db.prepare(sql).all(params),
  ${REPORT_JOBS}
};`;

function prepare(db: Database.Database) {
  return {
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    metaKeys: db.prepare('SELECT key FROM meta'),
    deleteMeta: db.prepare('DELETE FROM meta WHERE key = ?'),
    insertMetaIfAbsent: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
    deleteExpiredSessions: db.prepare('DELETE FROM console_sessions WHERE expires_at <= ?'),
    insertSession: db.prepare('INSERT INTO console_sessions (id_hash, csrf, created_at, expires_at) VALUES (?, ?, ?, ?)'),
    trimSessions: db.prepare(
      'DELETE FROM console_sessions WHERE id_hash IN (SELECT id_hash FROM console_sessions ORDER BY created_at DESC, id_hash LIMIT -1 OFFSET ?)',
    ),
    getSession: db.prepare('SELECT csrf, created_at, expires_at FROM console_sessions WHERE id_hash = ? AND expires_at > ?'),
    deleteSession: db.prepare('DELETE FROM console_sessions WHERE id_hash = ?'),
    takeLease: db.prepare(
      `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @until)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at < @now
       RETURNING 1`,
    ),
    deleteEventsBefore: db.prepare(
      'DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE site_id = ? AND timestamp < ? LIMIT ?)',
    ),
    // Offer events are few beside events: one pass over them.
    deleteOfferEventsBefore: db.prepare('DELETE FROM offer_events WHERE site_id = ? AND timestamp < ?'),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    insertSite: db.prepare(
      `INSERT INTO sites (id, name, write_key, secret, origins, settings, created_at)
       VALUES (@id, @name, @write_key, @secret, @origins, @settings, @created_at)`,
    ),
    updateSite: db.prepare(
      'UPDATE sites SET name = @name, secret = @secret, origins = @origins, settings = @settings WHERE id = @id',
    ),
    getSite: db.prepare('SELECT * FROM sites WHERE id = ?'),
    listSites: db.prepare('SELECT * FROM sites ORDER BY created_at, id'),
    eventExists: db.prepare('SELECT 1 FROM events WHERE site_id = ? AND sender = ? AND message_id = ?').pluck(),
    getIdentity: db.prepare('SELECT profile_id FROM identities WHERE site_id = ? AND kind = ? AND value = ?'),
    getProfile: db.prepare('SELECT * FROM profiles WHERE site_id = ? AND id = ?'),
    upsertIdentity: db.prepare(
      `INSERT INTO identities (site_id, kind, value, profile_id, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (site_id, kind, value) DO UPDATE SET profile_id = excluded.profile_id`,
    ),
    deleteIdentity: db.prepare('DELETE FROM identities WHERE site_id = ? AND kind = ? AND value = ?'),
    insertProfile: db.prepare(
      `INSERT INTO profiles (site_id, id, user_id, email, traits, trait_times, computed, first_seen, last_seen,
         orders, revenue, last_order_at, merged_into, created_at, updated_at, first_source, first_medium)
       VALUES (@site_id, @id, @user_id, @email, @traits, @trait_times, @computed, @first_seen, @last_seen,
         @orders, @revenue, @last_order_at, @merged_into, @created_at, @updated_at, @first_source, @first_medium)`,
    ),
    // The partial index of user ids holds identified profiles only: a count without the table.
    countIdentified: db.prepare('SELECT COUNT(*) FROM profiles INDEXED BY profiles_user WHERE site_id = ? AND user_id IS NOT NULL').pluck(),
    ordersBetween: db.prepare("SELECT * FROM events WHERE site_id = ? AND timestamp BETWEEN ? AND ? AND type = 'track' AND name = ?"),
    liveProfilesById: db.prepare('SELECT * FROM profiles WHERE site_id = ? AND id > ? AND merged_into IS NULL ORDER BY id LIMIT ?'),
    ruleProfilesById: db.prepare(`SELECT ${RULE_PROFILE_COLUMNS} FROM profiles WHERE site_id = ? AND id IN (SELECT value FROM json_each(?))`),
    updateComputed: db.prepare(
      'UPDATE profiles SET computed = @computed, first_source = @first_source, first_medium = @first_medium WHERE site_id = @site_id AND id = @id',
    ),
    updateProfile: db.prepare(
      `UPDATE profiles SET user_id = @user_id, email = @email, traits = @traits, trait_times = @trait_times,
         computed = @computed, first_seen = @first_seen, last_seen = @last_seen, orders = @orders,
         revenue = @revenue, last_order_at = @last_order_at, merged_into = @merged_into,
         updated_at = @updated_at, first_source = @first_source, first_medium = @first_medium
       WHERE site_id = @site_id AND id = @id`,
    ),
    profileIdentities: db.prepare(
      'SELECT kind, value FROM identities WHERE site_id = ? AND profile_id = ? ORDER BY kind, created_at, value',
    ),
    profileMerges: db.prepare(
      // A UNION rather than an OR, so that each side uses its own index.
      `SELECT * FROM merges WHERE site_id = ? AND into_profile = ?
       UNION SELECT * FROM merges WHERE site_id = ? AND from_profile = ?
       ORDER BY at, seq`,
    ),
    profileEvents: db.prepare(
      'SELECT * FROM events WHERE site_id = ? AND profile_id = ? ORDER BY timestamp DESC, seq DESC LIMIT ?',
    ),
    profileEventsAfter: db.prepare(
      `SELECT * FROM events WHERE site_id = ? AND profile_id = ? AND (timestamp < ? OR (timestamp = ? AND seq < ?))
       ORDER BY timestamp DESC, seq DESC LIMIT ?`,
    ),
    allProfileEvents: db.prepare('SELECT * FROM events WHERE site_id = ? AND profile_id = ? ORDER BY timestamp, seq'),
    tombstonesOf: db.prepare('SELECT id FROM profiles WHERE site_id = ? AND merged_into = ?').pluck(),
    deleteEvents: db.prepare('DELETE FROM events WHERE site_id = ? AND profile_id = ?'),
    deleteIdentities: db.prepare('DELETE FROM identities WHERE site_id = ? AND profile_id = ?'),
    deleteMergesInto: db.prepare('DELETE FROM merges WHERE site_id = ? AND into_profile = ?'),
    deleteMergesFrom: db.prepare('DELETE FROM merges WHERE site_id = ? AND from_profile = ?'),
    deleteProfile: db.prepare('DELETE FROM profiles WHERE site_id = ? AND id = ?'),
    // In rowid order: a scan of the table itself, not a walk of an index with a lookup per row.
    rankingInputs: db.prepare(
      `SELECT rowid, id, orders, revenue, last_order_at FROM profiles NOT INDEXED
       WHERE site_id = ? AND rowid > ? AND merged_into IS NULL ORDER BY rowid LIMIT ?`,
    ),
    liveProfiles: db.prepare(
      'SELECT * FROM profiles WHERE site_id = ? AND merged_into IS NULL ORDER BY last_seen DESC, id LIMIT ?',
    ),
    liveProfilesAfter: db.prepare(
      // last_seen <= ? first, so that each step starts in the index where the last one stopped.
      `SELECT * FROM profiles WHERE site_id = ? AND merged_into IS NULL
         AND last_seen <= ? AND (last_seen < ? OR id > ?)
       ORDER BY last_seen DESC, id LIMIT ?`,
    ),
    listSegments: db.prepare('SELECT * FROM segments WHERE site_id = ? ORDER BY name'),
    saveSegment: db.prepare(
      `INSERT INTO segments (site_id, id, name, description, rule, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (site_id, id) DO UPDATE SET name = excluded.name, description = excluded.description,
         rule = excluded.rule, updated_at = excluded.updated_at`,
    ),
    deleteSegment: db.prepare('DELETE FROM segments WHERE site_id = ? AND id = ?'),
    listOffers: db.prepare('SELECT * FROM offers WHERE site_id = ? ORDER BY slot, priority DESC, name'),
    saveOffer: db.prepare(
      `INSERT INTO offers (site_id, id, name, slot, segment_id, priority, status, content, starts_at, ends_at, cap,
         control_percent, goal, created_at, updated_at)
       VALUES (@site_id, @id, @name, @slot, @segment_id, @priority, @status, @content, @starts_at, @ends_at, @cap,
         @control_percent, @goal, @created_at, @updated_at)
       ON CONFLICT (site_id, id) DO UPDATE SET name = excluded.name, slot = excluded.slot,
         segment_id = excluded.segment_id, priority = excluded.priority, status = excluded.status,
         content = excluded.content, starts_at = excluded.starts_at, ends_at = excluded.ends_at, cap = excluded.cap,
         control_percent = excluded.control_percent, goal = excluded.goal, updated_at = excluded.updated_at`,
    ),
    deleteOffer: db.prepare('DELETE FROM offers WHERE site_id = ? AND id = ?'),
    deleteOfferEventsOf: db.prepare('DELETE FROM offer_events WHERE site_id = ? AND offer_id = ?'),
    offerEvents: db.prepare(
      'SELECT profile_id, kind, timestamp FROM offer_events WHERE site_id = ? AND offer_id = ? ORDER BY timestamp, seq',
    ),
    firstEventBetween: db
      .prepare(
        `SELECT timestamp FROM events WHERE site_id = ? AND profile_id = ? AND timestamp >= ? AND timestamp <= ?
           AND type = 'track' AND name = ? ORDER BY timestamp LIMIT 1`,
      )
      .pluck(),
    insertOfferEvent: db.prepare(
      'INSERT INTO offer_events (site_id, offer_id, profile_id, kind, timestamp) VALUES (?, ?, ?, ?, ?)',
    ),
    moveOfferEvents: db.prepare('UPDATE offer_events SET profile_id = ? WHERE site_id = ? AND profile_id = ?'),
    deleteOfferEvents: db.prepare('DELETE FROM offer_events WHERE site_id = ? AND profile_id = ?'),
    moveRuns: db.prepare('UPDATE automation_runs SET profile_id = ? WHERE site_id = ? AND profile_id = ?'),
    deleteRuns: db.prepare('DELETE FROM automation_runs WHERE site_id = ? AND profile_id = ?'),
    moveSends: db.prepare('UPDATE automation_sends SET profile_id = ? WHERE site_id = ? AND profile_id = ?'),
    deleteSends: db.prepare('DELETE FROM automation_sends WHERE site_id = ? AND profile_id = ?'),
    moveEvents: db.prepare('UPDATE events SET profile_id = ? WHERE site_id = ? AND profile_id = ?'),
    moveIdentities: db.prepare('UPDATE identities SET profile_id = ? WHERE site_id = ? AND profile_id = ?'),
    repointTombstones: db.prepare('UPDATE profiles SET merged_into = ? WHERE site_id = ? AND merged_into = ?'),
    insertMerge: db.prepare(
      `INSERT INTO merges (site_id, into_profile, from_profile, rule, ids, message_id, at, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    markUndone: db.prepare(`UPDATE merges SET detail = json_set(coalesce(detail, '{}'), '$.undoneAt', ?) WHERE site_id = ? AND seq = ?`),
    moveEventsById: db.prepare(
      'UPDATE events SET profile_id = ? WHERE site_id = ? AND profile_id = ? AND seq IN (SELECT value FROM json_each(?))',
    ),
    repointTombstonesById: db.prepare(
      'UPDATE profiles SET merged_into = ? WHERE site_id = ? AND merged_into = ? AND id IN (SELECT value FROM json_each(?))',
    ),
    insertEvent: db.prepare(
      `INSERT INTO events (site_id, sender, message_id, profile_id, type, name, anonymous_id, user_id, session_id,
         timestamp, received_at, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
  };
}

/** Merge records once each (a merge between the two profiles of a read is found from both), oldest first. */
function uniqueMerges(merges: MergeRecord[]): MergeRecord[] {
  const byId = new Map(merges.map((m) => [m.id, m]));
  return [...byId.values()].sort((a, b) => a.at - b.at || Number(a.id) - Number(b.id));
}
