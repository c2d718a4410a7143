import pg from 'pg';
import type { Offer, Segment } from '../../decisions/types.js';
import type { ProfileRecord } from '../../profiles/types.js';
import type { EventWrite, MergeRecord } from '../types.js';
import { profileToParams, type EventData } from '../sqlite/rows.js';

/**
 * Row shapes of the PostgreSQL tables. The columns are SQLite's, with times as bigint and JSON as
 * text, so SQLite's mappers (sqlite/rows.ts) read them unchanged once bigints are numbers: the
 * pool's clients parse int8 (and numeric, what SUM of a bigint gives) to numbers, which holds
 * every value stored (times in ms and counts, far below 2^53).
 */
export { eventFromRow, profileFromRow, siteFromRow, type EventRow, type ProfileRow, type SiteRow } from '../sqlite/rows.js';

const INT8 = 20;
const NUMERIC = 1700;

/** Type parsers of this store's clients only (node-postgres' global ones are left alone). */
export const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 || oid === NUMERIC) return (value: string) => (value === null ? null : Number(value));
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

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

/** The parameters of saveOffer's upsert, in column order (see OFFER_COLUMNS). */
export const offerToParams = (o: Offer): unknown[] => [
  o.siteId,
  o.id,
  o.name,
  o.slot,
  o.segmentId,
  o.priority,
  o.status,
  JSON.stringify(o.content),
  o.startsAt,
  o.endsAt,
  o.cap && JSON.stringify(o.cap),
  o.controlPercent,
  o.goal && JSON.stringify(o.goal),
  o.createdAt,
  o.updatedAt,
];

export const OFFER_COLUMNS = [
  'site_id',
  'id',
  'name',
  'slot',
  'segment_id',
  'priority',
  'status',
  'content',
  'starts_at',
  'ends_at',
  'cap',
  'control_percent',
  'goal',
  'created_at',
  'updated_at',
] as const;

export interface MergeRow {
  into_profile: string;
  from_profile: string | null;
  rule: MergeRecord['rule'];
  ids: string;
  message_id: string | null;
  at: number;
}

export const mergeFromRow = (row: MergeRow): MergeRecord => ({
  into: row.into_profile,
  from: row.from_profile,
  rule: row.rule,
  ids: JSON.parse(row.ids),
  messageId: row.message_id,
  at: row.at,
});

/**
 * Columns of a multi-row write as one array per column, for `unnest($1::text[], $2::bigint[], ...)`:
 * a write of any number of rows is one statement with a fixed number of parameters.
 */
export type Columns<K extends string> = Record<K, unknown[]>;

function columnsOf<K extends string, T>(keys: readonly K[], items: T[], row: (item: T) => Record<K, unknown>): Columns<K> {
  const out = Object.fromEntries(keys.map((k) => [k, [] as unknown[]])) as Columns<K>;
  for (const item of items) {
    const values = row(item);
    for (const k of keys) out[k].push(values[k]);
  }
  return out;
}

/** Profile columns and their PostgreSQL array types, in the order of the unnest. */
export const PROFILE_COLUMNS = [
  ['id', 'text'],
  ['user_id', 'text'],
  ['email', 'text'],
  ['traits', 'text'],
  ['trait_times', 'text'],
  ['computed', 'text'],
  ['first_seen', 'bigint'],
  ['last_seen', 'bigint'],
  ['orders', 'integer'],
  ['revenue', 'double precision'],
  ['last_order_at', 'bigint'],
  ['merged_into', 'text'],
  ['created_at', 'bigint'],
  ['updated_at', 'bigint'],
] as const;

type ProfileColumn = (typeof PROFILE_COLUMNS)[number][0];

export function profileColumns(profiles: ProfileRecord[]): Columns<ProfileColumn> {
  return columnsOf(
    PROFILE_COLUMNS.map(([name]) => name),
    profiles,
    (p) => profileToParams(p),
  );
}

/** Event columns (after site_id) and their array types, in the order of the unnest. */
export const EVENT_COLUMNS = [
  ['sender', 'text'],
  ['message_id', 'text'],
  ['profile_id', 'text'],
  ['type', 'text'],
  ['name', 'text'],
  ['anonymous_id', 'text'],
  ['user_id', 'text'],
  ['session_id', 'text'],
  ['timestamp', 'bigint'],
  ['received_at', 'bigint'],
  ['data', 'text'],
] as const;

type EventColumn = (typeof EVENT_COLUMNS)[number][0];

export function eventColumns(events: EventWrite[]): Columns<EventColumn> {
  return columnsOf(
    EVENT_COLUMNS.map(([name]) => name),
    events,
    ({ event, sender, profileId, sessionId }) => {
      const data: EventData = { message: event.message, enrichment: event.enrichment };
      return {
        sender,
        message_id: event.messageId,
        profile_id: profileId,
        type: event.type,
        name: event.name,
        anonymous_id: event.anonymousId,
        user_id: event.userId,
        session_id: sessionId,
        timestamp: event.timestamp,
        received_at: event.receivedAt,
        data: JSON.stringify(data),
      };
    },
  );
}
