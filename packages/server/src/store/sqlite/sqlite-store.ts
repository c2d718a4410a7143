import type Database from 'better-sqlite3';
import { identityKeysOf, resolveProfile } from '../../identity/resolve.js';
import { WorkingSet } from '../../identity/working-set.js';
import { applyEvent } from '../../profiles/computed.js';
import { newId } from '../../ids.js';
import type { Store } from '../store.js';
import {
  DEFAULT_SITE_SETTINGS,
  type EventQuery,
  type IdentityKind,
  type IngestEvent,
  type IngestOutcome,
  type IngestResult,
  type NewSite,
  type Page,
  type Site,
  type SitePatch,
  type StoredEvent,
} from '../types.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { GroupCommit } from './group-commit.js';
import { openDatabase, type OpenOptions } from './open.js';
import {
  eventFromRow,
  profileFromRow,
  profileToParams,
  siteFromRow,
  type EventData,
  type EventRow,
  type ProfileRow,
  type SiteRow,
} from './rows.js';

/**
 * The embedded store: one SQLite file in WAL mode, prepared statements made once, one
 * transaction per call, and group commit for concurrent ingest calls.
 *
 * @example
 * const store = SqliteStore.open('./data/rapport.db');
 * await store.ingest(site, events);
 */
export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly writer: GroupCommit;
  private readonly sql;

  private constructor(db: Database.Database) {
    this.db = db;
    this.writer = new GroupCommit(db);
    this.sql = prepare(db);
  }

  static open(file: string, options: OpenOptions = {}): SqliteStore {
    return new SqliteStore(openDatabase(file, options));
  }

  async health(): Promise<boolean> {
    try {
      return (this.db.prepare('SELECT 1 AS ok').get() as { ok: number }).ok === 1;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.writer.drain();
    this.db.close();
  }

  async getMeta(key: string): Promise<string | null> {
    return (this.sql.getMeta.get(key) as { value: string } | undefined)?.value ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.sql.setMeta.run(key, value);
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
    this.sql.insertSite.run(row);
    return siteFromRow(row);
  }

  async updateSite(id: string, patch: SitePatch & { secret?: string }): Promise<Site | null> {
    return this.db.transaction(() => {
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
    })();
  }

  async listSites(): Promise<Site[]> {
    return (this.sql.listSites.all() as SiteRow[]).map(siteFromRow);
  }

  ingest(site: Site, events: IngestEvent[]): Promise<IngestResult> {
    return this.writer.submit(() => this.ingestNow(site, events));
  }

  /** The body of one ingest call; runs inside the group's transaction, in its own savepoint. */
  private ingestNow(site: Site, events: IngestEvent[]): IngestResult {
    const sql = this.sql;
    const now = Date.now();
    const options = { emailMatching: site.settings.emailMatching };
    const ws = new WorkingSet(site.id, newId, now);
    const loaded = new Set<string>();
    const outcomes: IngestOutcome[] = [];
    const fresh: IngestEvent[] = [];

    for (const event of events) {
      if (sql.eventExists.get(site.id, event.messageId)) {
        outcomes.push('duplicate');
        continue;
      }
      outcomes.push('stored');
      fresh.push(event);
      for (const [kind, value] of identityKeysOf(event, options)) {
        const key = `${kind}\u0000${value}`;
        if (loaded.has(key)) continue;
        loaded.add(key);
        const found = sql.getIdentity.get(site.id, kind, value) as { profile_id: string } | undefined;
        ws.loadIdentity(kind as IdentityKind, value, found?.profile_id ?? null);
        if (found && !ws.profiles.has(found.profile_id)) {
          const row = sql.getProfile.get(site.id, found.profile_id) as ProfileRow | undefined;
          if (row) ws.loadProfile(profileFromRow(row));
        }
      }
    }

    const placed: Array<{ event: IngestEvent; profileId: string; sessionId: string }> = [];
    for (const event of fresh) {
      const profileId = resolveProfile(ws, event, options);
      const profile = ws.profile(profileId);
      const sessionId = applyEvent(profile, event, newId);
      ws.touch(profile.id);
      placed.push({ event, profileId: profile.id, sessionId });
    }

    for (const merge of ws.merges) {
      if (merge.from && merge.rule !== 'anonymous-moved') {
        sql.moveEvents.run(merge.into, site.id, merge.from);
        sql.moveIdentities.run(merge.into, site.id, merge.from);
        sql.repointTombstones.run(merge.into, site.id, merge.from);
      }
      sql.insertMerge.run(
        site.id,
        merge.into,
        merge.from,
        merge.rule,
        JSON.stringify(merge.ids),
        merge.messageId,
        merge.at,
      );
    }
    for (const change of ws.identityChanges.values()) {
      if (change.profileId === null) sql.deleteIdentity.run(site.id, change.kind, change.value);
      else sql.upsertIdentity.run(site.id, change.kind, change.value, ws.final(change.profileId), now);
    }
    for (const id of ws.dirty) {
      const profile = ws.profiles.get(id)!;
      profile.updatedAt = now;
      if (ws.created.has(id)) {
        // A profile made and merged away within this call never needs a row.
        if (!profile.mergedInto) sql.insertProfile.run(profileToParams(profile));
      } else {
        sql.updateProfile.run(profileToParams(profile));
      }
    }
    for (const { event, profileId, sessionId } of placed) {
      const data: EventData = { message: event.message, enrichment: event.enrichment };
      sql.insertEvent.run(
        site.id,
        event.messageId,
        ws.final(profileId),
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
    return { outcomes };
  }

  async listEvents(query: EventQuery): Promise<Page<StoredEvent>> {
    const where = ['site_id = ?'];
    const params: unknown[] = [query.siteId];
    if (query.type) (where.push('type = ?'), params.push(query.type));
    if (query.profileId) (where.push('profile_id = ?'), params.push(query.profileId));
    if (query.anonymousId) (where.push('anonymous_id = ?'), params.push(query.anonymousId));
    if (query.userId) (where.push('user_id = ?'), params.push(query.userId));
    const before = query.cursor ? decodeCursor(query.cursor) : null;
    if (before !== null) (where.push('seq < ?'), params.push(before));
    const rows = this.db
      .prepare(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`)
      .all(...params, query.limit + 1) as EventRow[];
    const more = rows.length > query.limit;
    const items = rows.slice(0, query.limit).map(eventFromRow);
    return { items, nextCursor: more ? encodeCursor(rows[query.limit - 1].seq) : null };
  }
}

function prepare(db: Database.Database) {
  return {
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
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
    eventExists: db.prepare('SELECT 1 FROM events WHERE site_id = ? AND message_id = ?').pluck(),
    getIdentity: db.prepare('SELECT profile_id FROM identities WHERE site_id = ? AND kind = ? AND value = ?'),
    getProfile: db.prepare('SELECT * FROM profiles WHERE site_id = ? AND id = ?'),
    upsertIdentity: db.prepare(
      `INSERT INTO identities (site_id, kind, value, profile_id, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (site_id, kind, value) DO UPDATE SET profile_id = excluded.profile_id`,
    ),
    deleteIdentity: db.prepare('DELETE FROM identities WHERE site_id = ? AND kind = ? AND value = ?'),
    insertProfile: db.prepare(
      `INSERT INTO profiles (site_id, id, user_id, email, traits, trait_times, computed, first_seen, last_seen,
         merged_into, created_at, updated_at)
       VALUES (@site_id, @id, @user_id, @email, @traits, @trait_times, @computed, @first_seen, @last_seen,
         @merged_into, @created_at, @updated_at)`,
    ),
    updateProfile: db.prepare(
      `UPDATE profiles SET user_id = @user_id, email = @email, traits = @traits, trait_times = @trait_times,
         computed = @computed, first_seen = @first_seen, last_seen = @last_seen, merged_into = @merged_into,
         updated_at = @updated_at
       WHERE site_id = @site_id AND id = @id`,
    ),
    moveEvents: db.prepare('UPDATE events SET profile_id = ? WHERE site_id = ? AND profile_id = ?'),
    moveIdentities: db.prepare('UPDATE identities SET profile_id = ? WHERE site_id = ? AND profile_id = ?'),
    repointTombstones: db.prepare('UPDATE profiles SET merged_into = ? WHERE site_id = ? AND merged_into = ?'),
    insertMerge: db.prepare(
      `INSERT INTO merges (site_id, into_profile, from_profile, rule, ids, message_id, at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertEvent: db.prepare(
      `INSERT INTO events (site_id, message_id, profile_id, type, name, anonymous_id, user_id, session_id,
         timestamp, received_at, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
  };
}
