import type { JsonObject, MessageType } from '@rapport/protocol';
import type { Offer, Segment } from '../decisions/types.js';
import { emptyComputed, type Computed, type ProfileRecord, type RuleProfile } from '../profiles/types.js';
import { NO_TOUCH } from '../reports/rollups.js';
import { encodeCursor } from './cursor.js';
import type { AutomationRecord, AutomationStatus, RunRecord, RunStatus } from './automations.js';
import {
  DEFAULT_SITE_SETTINGS,
  type Enrichment,
  type MergeRecord,
  type MergeSnapshot,
  type Page,
  type Site,
  type StoredEvent,
  type Trust,
} from './types.js';

/**
 * Row shapes of the tables, the same columns in SQLite and PostgreSQL (times in ms, JSON as
 * text), and their conversion to the store's types; PostgreSQL's clients parse bigints to numbers.
 */

export interface SiteRow {
  id: string;
  name: string;
  write_key: string;
  secret: string;
  origins: string;
  settings: string;
  created_at: number;
}

export const siteFromRow = (row: SiteRow): Site => ({
  id: row.id,
  name: row.name,
  writeKey: row.write_key,
  secret: row.secret,
  origins: JSON.parse(row.origins),
  settings: { ...DEFAULT_SITE_SETTINGS, ...JSON.parse(row.settings) },
  createdAt: row.created_at,
});

export interface ProfileRow {
  site_id: string;
  id: string;
  user_id: string | null;
  email: string | null;
  traits: string;
  trait_times: string;
  computed: string;
  first_seen: number | null;
  last_seen: number | null;
  orders: number;
  revenue: number;
  last_order_at: number | null;
  merged_into: string | null;
  created_at: number;
  updated_at: number;
}

export const profileFromRow = (row: ProfileRow): ProfileRecord => ({
  id: row.id,
  siteId: row.site_id,
  userId: row.user_id,
  email: row.email,
  traits: JSON.parse(row.traits),
  traitTimes: JSON.parse(row.trait_times),
  computed: computedOf(row.computed),
  mergedInto: row.merged_into,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const COMPUTED_KEYS = Object.keys(emptyComputed());

/**
 * A profile's computed attributes from their JSON. Attributes added by later versions start
 * empty on profiles written before them; a profile that has them all is taken as parsed, since
 * copying its attributes into a new object cost as much again as parsing them.
 */
function computedOf(text: string): Computed {
  const computed = JSON.parse(text);
  for (const key of COMPUTED_KEYS) if (!(key in computed)) return { ...emptyComputed(), ...computed };
  return computed;
}

/** The columns of a profile that `ruleProfileFromRow` reads, for a SELECT list. */
export const RULE_PROFILE_COLUMNS = 'id, user_id, traits, computed';

/** What a rule reads of a profile, from the columns of `RULE_PROFILE_COLUMNS`. */
export const ruleProfileFromRow = (row: Pick<ProfileRow, 'id' | 'user_id' | 'traits' | 'computed'>): RuleProfile => ({
  id: row.id,
  userId: row.user_id,
  traits: JSON.parse(row.traits),
  computed: computedOf(row.computed),
});

/**
 * A profile's columns, the JSON ones as values (PostgreSQL sends them in one JSON array), and its
 * first touch's source and medium as the rollups key them.
 */
export const profileFields = (p: ProfileRecord) => ({
  ...firstTouchColumns(p),
  site_id: p.siteId,
  id: p.id,
  user_id: p.userId,
  email: p.email,
  traits: p.traits as unknown,
  trait_times: p.traitTimes as unknown,
  computed: p.computed as unknown,
  first_seen: p.computed.firstSeen,
  last_seen: p.computed.lastSeen,
  orders: p.computed.orders,
  revenue: p.computed.revenue,
  last_order_at: p.computed.lastOrderAt,
  merged_into: p.mergedInto,
  created_at: p.createdAt,
  updated_at: p.updatedAt,
});

/** The columns that keep the source and medium of a profile's first touch, as the rollups key them (`touchKeyOf`). */
export function firstTouchColumns(p: Pick<ProfileRecord, 'computed'>) {
  const touch = p.computed.firstTouch;
  return { first_source: touch?.source ?? NO_TOUCH.source, first_medium: touch?.medium ?? NO_TOUCH.medium };
}

/** A profile's columns as SQLite binds them, the JSON ones as text. */
export const profileToParams = (p: ProfileRecord) => ({
  ...profileFields(p),
  traits: JSON.stringify(p.traits),
  trait_times: JSON.stringify(p.traitTimes),
  computed: JSON.stringify(p.computed),
});

export interface EventRow {
  seq: number;
  site_id: string;
  sender: string;
  message_id: string;
  profile_id: string;
  type: MessageType;
  name: string | null;
  anonymous_id: string | null;
  user_id: string | null;
  session_id: string | null;
  timestamp: number;
  received_at: number;
  data: string;
}

/** What the `data` column holds: the message as sent (cleaned) and what ingest derived from it. */
export interface EventData {
  message: JsonObject;
  enrichment: Enrichment;
  /** Absent on events stored before it was kept. */
  trust?: Trust;
}

const KNOWN_FIELDS = new Set([
  'type',
  'messageId',
  'anonymousId',
  'userId',
  'timestamp',
  'sentAt',
  'originalTimestamp',
  'receivedAt',
  'properties',
  'traits',
  'context',
  'event',
  'name',
]);

export function eventFromRow(row: EventRow): StoredEvent {
  const data = JSON.parse(row.data) as EventData;
  const m = data.message;
  const extra: JsonObject = {};
  for (const key of Object.keys(m)) if (!KNOWN_FIELDS.has(key)) extra[key] = m[key];
  return {
    id: String(row.seq),
    siteId: row.site_id,
    profileId: row.profile_id,
    messageId: row.message_id,
    type: row.type,
    event: row.type === 'track' ? row.name : null,
    name: row.type === 'track' ? null : row.name,
    anonymousId: row.anonymous_id,
    userId: row.user_id,
    sessionId: row.session_id,
    timestamp: new Date(row.timestamp).toISOString(),
    receivedAt: new Date(row.received_at).toISOString(),
    properties: (m.properties as JsonObject | undefined) ?? null,
    traits: (m.traits as JsonObject | undefined) ?? null,
    context: (m.context as JsonObject | undefined) ?? null,
    enrichment: data.enrichment,
    trust: data.trust ?? null,
    extra,
  };
}

export interface SegmentRow {
  site_id: string;
  id: string;
  name: string;
  description: string | null;
  rule: string;
  created_at: number;
  updated_at: number;
}

export const segmentFromRow = (r: SegmentRow): Segment => ({
  id: r.id,
  siteId: r.site_id,
  name: r.name,
  description: r.description,
  rule: JSON.parse(r.rule),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface OfferRow {
  site_id: string;
  id: string;
  name: string;
  slot: string;
  segment_id: string | null;
  priority: number;
  status: Offer['status'];
  content: string;
  starts_at: number | null;
  ends_at: number | null;
  cap: string | null;
  control_percent: number;
  goal: string | null;
  created_at: number;
  updated_at: number;
}

export const offerFromRow = (r: OfferRow): Offer => ({
  id: r.id,
  siteId: r.site_id,
  name: r.name,
  slot: r.slot,
  segmentId: r.segment_id,
  priority: r.priority,
  status: r.status,
  content: JSON.parse(r.content),
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  cap: r.cap ? JSON.parse(r.cap) : null,
  controlPercent: r.control_percent,
  goal: r.goal ? JSON.parse(r.goal) : null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface MergeRow {
  into_profile: string;
  from_profile: string | null;
  rule: MergeRecord['rule'];
  ids: string;
  message_id: string | null;
  at: number;
  seq: number | string;
  /** JSON of `MergeDetail`; null on merges recorded before it was kept. */
  detail: string | null;
}

/** What the `detail` column of a merge holds. */
export interface MergeDetail {
  by?: string | null;
  snapshot?: MergeSnapshot;
  undoneAt?: number | null;
}

export const mergeFromRow = (row: MergeRow): MergeRecord => {
  const detail = row.detail ? (JSON.parse(row.detail) as MergeDetail) : {};
  const record: MergeRecord = {
    into: row.into_profile,
    from: row.from_profile,
    rule: row.rule,
    ids: JSON.parse(row.ids),
    messageId: row.message_id,
    at: row.at,
    id: String(row.seq),
  };
  if (detail.by !== undefined) record.by = detail.by;
  if (detail.snapshot) record.snapshot = detail.snapshot;
  if (detail.undoneAt) record.undoneAt = detail.undoneAt;
  return record;
};

/** The `detail` column of a merge to write: null when it holds nothing. */
export function mergeDetailOf(merge: MergeRecord): string | null {
  const detail: MergeDetail = {};
  if (merge.by !== undefined) detail.by = merge.by;
  if (merge.snapshot) detail.snapshot = merge.snapshot;
  if (merge.undoneAt) detail.undoneAt = merge.undoneAt;
  return Object.keys(detail).length ? JSON.stringify(detail) : null;
}

/** A page of `limit` items from `limit + 1` rows: the extra row only says there is more. */
export function pageOf<R, T>(rows: R[], limit: number, map: (row: R) => T, cursorOf: (row: R) => string): Page<T> {
  const more = rows.length > limit;
  const kept = rows.slice(0, limit);
  return { items: kept.map(map), nextCursor: more ? cursorOf(kept[kept.length - 1]) : null };
}

export interface AutomationRow {
  site_id: string;
  id: string;
  name: string;
  status: string;
  definition: string;
  created_at: number;
  updated_at: number;
}

export const automationFromRow = (row: AutomationRow): AutomationRecord => ({
  id: row.id,
  siteId: row.site_id,
  name: row.name,
  status: row.status as AutomationStatus,
  definition: JSON.parse(row.definition),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export const automationToParams = (a: AutomationRecord) => ({
  site_id: a.siteId,
  id: a.id,
  name: a.name,
  status: a.status,
  definition: JSON.stringify(a.definition),
  created_at: a.createdAt,
  updated_at: a.updatedAt,
});

export interface RunRow {
  site_id: string;
  id: string;
  automation_id: string;
  profile_id: string;
  trigger_key: string;
  holdout: number;
  status: string;
  position: string;
  context: string;
  due_at: number | null;
  waiting_for: string | null;
  attempts: number;
  started_at: number;
  updated_at: number;
}

export const runFromRow = (row: RunRow): RunRecord => ({
  id: row.id,
  siteId: row.site_id,
  automationId: row.automation_id,
  profileId: row.profile_id,
  triggerKey: row.trigger_key,
  holdout: row.holdout === 1,
  status: row.status as RunStatus,
  position: row.position,
  context: JSON.parse(row.context),
  dueAt: row.due_at,
  waitingFor: row.waiting_for,
  attempts: row.attempts,
  startedAt: row.started_at,
  updatedAt: row.updated_at,
});

/** The columns of a run that its owner writes (the lease columns are the store's own). */
export const RUN_COLUMNS = [
  'site_id',
  'id',
  'automation_id',
  'profile_id',
  'trigger_key',
  'holdout',
  'status',
  'position',
  'context',
  'due_at',
  'waiting_for',
  'attempts',
  'started_at',
  'updated_at',
] as const;

export const runToParams = (r: RunRecord): Record<(typeof RUN_COLUMNS)[number], unknown> => ({
  site_id: r.siteId,
  id: r.id,
  automation_id: r.automationId,
  profile_id: r.profileId,
  trigger_key: r.triggerKey,
  holdout: r.holdout ? 1 : 0,
  status: r.status,
  position: r.position,
  context: JSON.stringify(r.context),
  // A finished run is due for nothing, whatever its owner left there.
  due_at: r.status === 'active' ? r.dueAt : null,
  waiting_for: r.status === 'active' ? r.waitingFor : null,
  attempts: r.attempts,
  started_at: r.startedAt,
  updated_at: r.updatedAt,
});

/** Where a page of runs (newest first) goes on after this row. */
export const runCursor = (row: RunRow) => encodeCursor(row.started_at, row.id);
