import type { JsonObject } from '@rapport/protocol';
import type { IngestEvent, StoredEvent } from '../store/types.js';
import { applyEvent } from './computed.js';
import { emptyComputed, type Computed, type ProfileRecord } from './types.js';

/** The figures of a profile that no event holds: kept as they are by a recount. */
export type KeptCounters = Pick<Computed, 'firstId' | 'anonymousIds' | 'merges' | 'mergeTimes'>;

/**
 * A stored event as ingest took it in, to be applied again. An event stored before its trust was
 * kept counts as untrusted: a recount never grants it rights (an offer, a vouched email) that it
 * may not have had.
 */
export function replayable(e: StoredEvent): IngestEvent {
  const context = e.context ?? {};
  // Where collect found an identify's traits (RudderStack's browser SDK sends them in context).
  const traits = e.type === 'identify' ? (e.traits ?? (isObject(context.traits) ? context.traits : null)) : null;
  return {
    messageId: e.messageId,
    type: e.type,
    name: e.type === 'track' ? e.event : e.name,
    anonymousId: e.anonymousId,
    userId: e.userId,
    previousId: typeof e.extra.previousId === 'string' ? e.extra.previousId : null,
    trust: e.trust ?? 'untrusted',
    timestamp: Date.parse(e.timestamp),
    receivedAt: Date.parse(e.receivedAt),
    traits,
    properties: e.properties,
    message: {},
    enrichment: e.enrichment,
  };
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Computes a profile's traits and computed attributes again from its events, oldest first, as
 * ingest would have from nothing: what a split does to both profiles it leaves. `kept` holds what
 * no event says (the guardrails' counters, the id control buckets hash). Events deleted by the
 * site's retention count no more.
 *
 * @example
 * const restored = recountProfile(tombstone, events, { firstId, anonymousIds: 2, merges: 0, mergeTimes: [] }, 'UTC', newId);
 */
export function recountProfile(
  base: ProfileRecord,
  events: StoredEvent[],
  kept: KeptCounters,
  timeZone: string,
  newId: () => string,
): ProfileRecord {
  const computed: Computed = { ...emptyComputed(), firstId: kept.firstId };
  if (kept.anonymousIds) computed.anonymousIds = kept.anonymousIds;
  if (kept.merges) computed.merges = kept.merges;
  if (kept.mergeTimes?.length) computed.mergeTimes = kept.mergeTimes;
  const profile: ProfileRecord = { ...base, email: null, traits: {}, traitTimes: {}, computed, mergedInto: null };
  const ordered = [...events].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || Number(a.id) - Number(b.id));
  for (const e of ordered) applyEvent(profile, replayable(e), newId, timeZone);
  return profile;
}
