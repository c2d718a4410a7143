import pg from 'pg';
import type { Offer, Segment } from '../../decisions/types.js';
import type { ProfileRecord } from '../../profiles/types.js';
import type { EventWrite, MergeRecord } from '../types.js';
import { NO_TOUCH } from '../../reports/rollups.js';
import { profileFields, type EventData } from '../rows.js';

/** The database time in ms, for leases shared by nodes whose clocks may differ. */
export const NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

/**
 * What PostgreSQL needs beside the row shapes both stores share (../rows.ts): the columns are
 * SQLite's, with times as bigint and JSON as text, so the shared mappers read them unchanged once
 * bigints are numbers: the pool's clients parse int8 (and numeric, what SUM of a bigint gives) to
 * numbers, which holds every value stored (times in ms and counts, far below 2^53).
 */

const INT8 = 20;
const NUMERIC = 1700;

/** Type parsers of this store's clients only (node-postgres' global ones are left alone). */
export const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 || oid === NUMERIC) return (value: string) => (value === null ? null : Number(value));
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A string as PostgreSQL can hold it in a text column: NUL (U+0000), which text cannot hold, as
 * U+FFFD. Applied to every text value that ingest writes or looks up (an offer id or an email
 * is not checked for control characters upstream), and the same way on both sides, so that a
 * lookup finds what was written. JSON columns need nothing: JSON.stringify escapes NUL.
 */
export const pgText = (value: string) => (value.includes('\u0000') ? value.replaceAll('\u0000', '\ufffd') : value);

/** `pgText` on the strings of a column of values. */
export const pgTexts = (values: unknown[]) => values.map((v) => (typeof v === 'string' ? pgText(v) : v));

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

/**
 * A JSON text column as `json`, parsed so that it cannot fail: PostgreSQL refuses to read a JSON
 * text holding \u0000 (text cannot hold NUL) or a lone surrogate, both of which JSON.stringify
 * writes as escapes (a message may carry them; see the store contract's test). Those escapes are
 * read as U+FFFD, and texts without any \u escape, nearly all, are not touched.
 */
export const safeJson = (column: string) =>
  `(CASE WHEN strpos(${column}, '\\u') = 0 THEN ${column} ELSE regexp_replace(${column}, '\\\\u(0000|d[89a-f][0-9a-f]{2})', '\\\\ufffd', 'gi') END)::json`;

/**
 * The source or medium of a profile's first touch as the reports key it (`touchKeyOf`: '' and
 * '(none)' without one), read from its computed JSON text.
 */
export function firstTouchOfJson(computed: string, field: 'source' | 'medium'): string {
  return `COALESCE(${safeJson(computed)} -> 'firstTouch' ->> '${field}', '${NO_TOUCH[field]}')`;
}

/**
 * The same from the columns that keep it (migration 10), so that a report split by it reads no
 * JSON; a row written before them (NULL) is read from its JSON.
 */
export const firstTouchSql = (alias: string, field: 'source' | 'medium') => `COALESCE(${alias}.first_${field}, ${firstTouchOfJson(`${alias}.computed`, field)})`;

/**
 * A column's type in a write: an array of that PostgreSQL type, or `json` for a JSON text column,
 * whose values go as one JSON array (see `rowsFrom`).
 */
export type ColumnType = 'text' | 'bigint' | 'integer' | 'double precision' | 'json';

/**
 * The rows of columns of values, as a FROM item with an `n` column numbering them:
 * `ROWS FROM (unnest($3::text[]), json_array_elements($4::json), ...) WITH ORDINALITY AS e(name, data, ..., n)`.
 * A JSON column goes as one JSON array whose elements PostgreSQL gives back as the exact text
 * JSON.stringify wrote, escapes such as \u0000 included. As text arrays, node-postgres escaped
 * every long JSON text into an array literal: 8% of a node's CPU under the ingest bench, and
 * with the strings made on the way, some of its garbage collection.
 *
 * @example
 * rowsFrom(EVENT_COLUMNS, eventColumns(events), 'e', array, json);
 */
export function rowsFrom<K extends string>(
  spec: ReadonlyArray<readonly [K, ColumnType]>,
  columns: Columns<K>,
  alias: string,
  array: (values: unknown[], type: string) => string,
  json: (values: unknown[]) => string,
): string {
  const sources = spec.map(([name, type]) => (type === 'json' ? `json_array_elements(${json(columns[name])})` : `unnest(${array(columns[name], type)})`));
  return `ROWS FROM (${sources.join(', ')}) WITH ORDINALITY AS ${alias}(${spec.map(([name]) => name).join(', ')}, n)`;
}

/** Profile columns and their types, in the order of `rowsFrom`. */
export const PROFILE_COLUMNS = [
  ['id', 'text'],
  ['user_id', 'text'],
  ['email', 'text'],
  ['traits', 'json'],
  ['trait_times', 'json'],
  ['computed', 'json'],
  ['first_seen', 'bigint'],
  ['last_seen', 'bigint'],
  ['orders', 'integer'],
  ['revenue', 'double precision'],
  ['last_order_at', 'bigint'],
  ['merged_into', 'text'],
  ['created_at', 'bigint'],
  ['updated_at', 'bigint'],
  ['first_source', 'text'],
  ['first_medium', 'text'],
] as const;

type ProfileColumn = (typeof PROFILE_COLUMNS)[number][0];

export function profileColumns(profiles: ProfileRecord[]): Columns<ProfileColumn> {
  return columnsOf(
    PROFILE_COLUMNS.map(([name]) => name),
    profiles,
    profileFields,
  );
}

/** Event columns (after site_id) and their types, in the order of `rowsFrom`. */
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
  ['data', 'json'],
] as const;

type EventColumn = (typeof EVENT_COLUMNS)[number][0];

export function eventColumns(events: EventWrite[]): Columns<EventColumn> {
  return columnsOf(
    EVENT_COLUMNS.map(([name]) => name),
    events,
    ({ event, sender, profileId, sessionId }) => {
      const data: EventData = { message: event.message, enrichment: event.enrichment, trust: event.trust };
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
        data,
      };
    },
  );
}
