import { offerEventOf } from '../collect/pipeline.js';
import { newId } from '../ids.js';
import { recountProfile, replayable } from '../profiles/recount.js';
import type { ProfileRecord } from '../profiles/types.js';
import { personFacts, RollupCounter } from '../reports/rollups.js';
import { ConflictError, type Store } from '../store/store.js';
import {
  movesRows,
  type HistoryRead,
  type Identity,
  type IngestProgram,
  type IngestWrites,
  type MergeRecord,
  type Site,
  type SplitWrites,
  type StoredEvent,
  type WorkingSetRead,
} from '../store/types.js';

export interface SplitResult {
  /** The profile given back its identities and events. */
  restored: ProfileRecord;
  /** The profile it had been merged into, recounted without them. */
  live: ProfileRecord;
  identities: Identity[];
  events: number;
  /** The record of the split in both profiles' history. */
  split: MergeRecord;
}

/**
 * Undoes an operator's or ingest's merge of profile `fromId` (now a tombstone) by an operator
 * (`by`): the identities it had when merged go back to it, with their events, the events that
 * came for them since (an event goes back when its user id was the merged profile's, or when its
 * anonymous id was and its user id is not one of the remaining profile's), and the tombstones
 * that pointed at it. Both profiles are then recounted from their events (`recountProfile`), the
 * offer events of both rebuilt, the rollups moved from one person to two, the split recorded and
 * the merge marked undone. Automation runs and sends stay where they are. Null when the profile
 * is not found; a `ConflictError` when it was not merged, or its merge cannot be undone (undone
 * already, or recorded before merges kept what a split needs).
 *
 * @example
 * const { restored, live } = (await splitProfile(store, site, 'p_merged_away', 'console', Date.now()))!;
 */
export async function splitProfile(store: Store, site: Site, fromId: string, by: string, now: number): Promise<SplitResult | null> {
  const tombstone = await store.getProfile(site.id, fromId);
  if (!tombstone) return null;
  if (!tombstone.mergedInto) throw new ConflictError(`profile ${fromId} is not merged into another: there is nothing to split`);
  const liveId = tombstone.mergedInto;
  const identities = await store.profileIdentities(site.id, liveId);
  return store.ingestTransaction(site.id, () => splitProgram(site, fromId, liveId, identities, by, now));
}

function* splitProgram(site: Site, fromId: string, liveId: string, identities: Identity[], by: string, now: number): IngestProgram<SplitResult> {
  // Locks the identities as ingest does, so that no message for either person lands meanwhile.
  yield { read: 'working-set', identities, messages: [] };
  const read = (yield { read: 'history', profileId: liveId, otherId: fromId, withEvents: true }) as HistoryRead;
  const live = read.profile;
  const tombstone = read.other;
  if (!live || live.mergedInto || !tombstone || tombstone.mergedInto !== liveId) {
    throw new ConflictError(`profile ${fromId} changed meanwhile: look at it again`);
  }
  const merge = undoable(read.merges, fromId);
  const snapshot = merge.snapshot!;
  const timeZone = site.settings.timeZone;
  const before = personFacts(live, timeZone);

  const has = (kind: Identity['kind'], value: string) => read.identities.some((i) => i.kind === kind && i.value === value);
  const changes: IngestWrites['identities'] = [];
  const back: Identity[] = [];
  for (const { kind, value } of snapshot.identities ?? []) {
    if (kind === 'user' && has('alias', value)) {
      // Retired into the live profile when both had a user id: it is the restored one's again.
      changes.push({ kind: 'alias', value, profileId: null }, { kind: 'user', value, profileId: fromId });
      back.push({ kind, value });
    } else if (has(kind, value)) {
      changes.push({ kind, value, profileId: fromId });
      back.push({ kind, value });
    }
  }
  const moved = new Set(back.map((i) => `${i.kind}\u0000${i.value}`));
  const remaining = read.identities.filter((i) => !moved.has(`${i.kind}\u0000${i.value}`) && !(i.kind === 'alias' && back.some((b) => b.value === i.value)));

  const goesBack = eventRule(back, remaining);
  const restoredEvents: StoredEvent[] = [];
  const liveEvents: StoredEvent[] = [];
  for (const e of read.events) (goesBack(e) ? restoredEvents : liveEvents).push(e);

  const anonymous = (ids: Identity[]) => ids.filter((i) => i.kind === 'anonymous').length;
  const restored = recountProfile(
    tombstone,
    restoredEvents,
    { firstId: snapshot.firstId, anonymousIds: anonymous(back), merges: snapshot.merges, mergeTimes: snapshot.mergeTimes },
    timeZone,
    newId,
  );
  restored.userId = back.find((i) => i.kind === 'user')?.value ?? null;
  restored.updatedAt = now;
  const left = recountProfile(
    live,
    liveEvents,
    {
      firstId: live.computed.firstId,
      anonymousIds: anonymous(remaining),
      merges: Math.max(0, (live.computed.merges ?? 0) - 1 - snapshot.merges),
      mergeTimes: withoutTimes(live.computed.mergeTimes ?? [], [merge.at, ...snapshot.mergeTimes]),
    },
    timeZone,
    newId,
  );
  left.userId = remaining.find((i) => i.kind === 'user')?.value ?? null;
  left.updatedAt = now;

  const rollups = new RollupCounter(timeZone);
  rollups.person(before, personFacts(left, timeZone));
  rollups.person(null, personFacts(restored, timeZone));
  const record: MergeRecord = { into: liveId, from: fromId, rule: 'split', ids: { userId: restored.userId }, messageId: null, at: now, by };
  const split: SplitWrites = {
    restored: fromId,
    live: liveId,
    eventIds: restoredEvents.map((e) => e.id),
    tombstones: (snapshot.tombstones ?? []).filter((id) => read.tombstones.includes(id)),
    offerEvents: [...offerEventsOf(liveId, liveEvents), ...offerEventsOf(fromId, restoredEvents)],
    undo: { mergeId: merge.id!, at: now },
  };
  const writes: IngestWrites = {
    merges: [record],
    identities: changes,
    newProfiles: [],
    changedProfiles: [restored, left],
    events: [],
    rollups: rollups.writes(),
    split,
  };
  return { writes, result: { restored, live: left, identities: back, events: restoredEvents.length, split: record } };
}

/** The latest merge of `fromId` that moved its rows and has not been undone, or why there is none. */
function undoable(merges: MergeRecord[], fromId: string): MergeRecord {
  const merge = merges.filter((m) => m.from === fromId && movesRows(m)).at(-1);
  if (!merge) throw new ConflictError(`no merge of profile ${fromId} is recorded`);
  if (merge.undoneAt) throw new ConflictError(`the merge of profile ${fromId} was split already`);
  if (!merge.snapshot?.identities) {
    throw new ConflictError(`the merge of profile ${fromId} was recorded before Rapport kept what a split restores; it cannot be split`);
  }
  return merge;
}

/**
 * Whether an event goes back to the restored profile: its user id is one of the restored
 * identities, or its anonymous id is and its user id (if any) is not the remaining profile's. The
 * message that made the merge (the restored anonymous id with the remaining user id) stays.
 */
export function eventRule(back: Identity[], remaining: Identity[]): (e: StoredEvent) => boolean {
  const users = (ids: Identity[]) => new Set(ids.filter((i) => i.kind === 'user' || i.kind === 'alias').map((i) => i.value));
  const backUsers = users(back);
  const keptUsers = users(remaining);
  const backAnonymous = new Set(back.filter((i) => i.kind === 'anonymous').map((i) => i.value));
  return (e) => {
    if (e.userId && backUsers.has(e.userId)) return true;
    return e.anonymousId !== null && backAnonymous.has(e.anonymousId) && !(e.userId && keptUsers.has(e.userId));
  };
}

function withoutTimes(times: number[], remove: number[]): number[] {
  const out = [...times];
  for (const t of remove) {
    const at = out.indexOf(t);
    if (at >= 0) out.splice(at, 1);
  }
  return out;
}

function offerEventsOf(profileId: string, events: StoredEvent[]): SplitWrites['offerEvents'] {
  return events.flatMap((e) => {
    const offer = offerEventOf(replayable(e));
    return offer ? [{ profileId, offerId: offer.offerId, kind: offer.kind, timestamp: Date.parse(e.timestamp) }] : [];
  });
}
