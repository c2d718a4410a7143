import type { JsonObject, MessageType } from '@rapport/protocol';
import { emptyComputed, type ProfileRecord } from '../../profiles/types.js';
import { DEFAULT_SITE_SETTINGS, type Enrichment, type Site, type StoredEvent } from '../types.js';

/** Row shapes of the SQLite tables and their conversion to the store's types. */

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
  // Attributes added by later versions start empty on profiles written before them.
  computed: { ...emptyComputed(), ...JSON.parse(row.computed) },
  mergedInto: row.merged_into,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export const profileToParams = (p: ProfileRecord) => ({
  site_id: p.siteId,
  id: p.id,
  user_id: p.userId,
  email: p.email,
  traits: JSON.stringify(p.traits),
  trait_times: JSON.stringify(p.traitTimes),
  computed: JSON.stringify(p.computed),
  first_seen: p.computed.firstSeen,
  last_seen: p.computed.lastSeen,
  orders: p.computed.orders,
  revenue: p.computed.revenue,
  last_order_at: p.computed.lastOrderAt,
  merged_into: p.mergedInto,
  created_at: p.createdAt,
  updated_at: p.updatedAt,
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
    extra,
  };
}
