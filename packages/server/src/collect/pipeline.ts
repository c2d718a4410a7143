import { SLOT_EVENTS } from '@rapport/protocol';
import { identityKeysOf, resolveProfile } from '../identity/resolve.js';
import { WorkingSet } from '../identity/working-set.js';
import { newId } from '../ids.js';
import { applyEvent, offerIdOf } from '../profiles/computed.js';
import { personFacts, RollupCounter, type PersonFacts, type RollupWrites } from '../reports/rollups.js';
import type { Store } from '../store/store.js';
import type {
  EventWrite,
  Identity,
  IngestEvent,
  IngestOptions,
  IngestOutcome,
  IngestProgram,
  IngestRead,
  IngestResult,
  IngestWrites,
  MessageKey,
  OfferEventKind,
  ProfileChange,
  Site,
  WorkingSetRead,
} from '../store/types.js';
import type { ProfileRecord } from '../profiles/types.js';

/**
 * Who sent a message: its anonymous id, else its user id. A retry comes from the same sender, so
 * message ids are kept unique per sender: an index on them then clusters each batch's rows
 * instead of scattering them over random pages, as a global index of random UUIDs would.
 */
export const senderOf = (event: IngestEvent) => (event.anonymousId ?? event.userId)!;

/** The SDK's slot events and the kind of offer event each one records. */
const OFFER_EVENT_KINDS = new Map<string, OfferEventKind>([
  [SLOT_EVENTS.impression, 'impression'],
  [SLOT_EVENTS.click, 'click'],
  [SLOT_EVENTS.control, 'control'],
]);

/** The offer event that a message records (an SDK slot event naming an offer), if any. */
export function offerEventOf(event: Pick<IngestEvent, 'type' | 'name' | 'properties'>): { offerId: string; kind: OfferEventKind } | null {
  const kind = event.type === 'track' ? OFFER_EVENT_KINDS.get(event.name ?? '') : undefined;
  const offerId = kind ? offerIdOf(event) : null;
  return kind && offerId ? { offerId, kind } : null;
}

/**
 * Stores the messages of one collect call for one site, in order, in one transaction of the
 * store: dedupes by sender and message id, resolves each message's profile with the identity
 * rules (merges included), and keeps computed attributes current. Resolves once committed.
 * This is the only place those rules are called at ingest, whatever the store.
 *
 * @example
 * const { outcomes } = await ingest(store, site, [event]); // ['stored']
 */
export function ingest(store: Store, site: Site, events: IngestEvent[], options: IngestOptions = {}): Promise<IngestResult> {
  return store.ingestTransaction(site.id, () => ingestProgram(site, events, Date.now(), options));
}

/**
 * The pipeline as a program of reads (see `IngestProgram`): a synchronous store (SQLite) answers
 * them in its transaction without a turn of the event loop, an asynchronous one (PostgreSQL)
 * awaits them, and both run these same rules.
 */
export function* ingestProgram(site: Site, events: IngestEvent[], now: number, want: IngestOptions = {}): IngestProgram<IngestResult> {
  const options = { emailMatching: site.settings.emailMatching };
  const ws = new WorkingSet(site.id, newId, now, { maxAnonymousIds: site.settings.maxAnonymousIds, maxMerges: site.settings.maxMerges });

  const keys = new Map<string, Identity>();
  for (const event of events) {
    for (const [kind, value] of identityKeysOf(event, options)) keys.set(`${kind}\u0000${value}`, { kind, value });
  }
  const identityKeys = [...keys.values()];
  const messageKeys: MessageKey[] = events.map((event) => ({ sender: senderOf(event), messageId: event.messageId }));
  // A store shared by nodes locks the identities before it reads the dedupe keys, so that the
  // dedupe read sees whatever a concurrent call for the same sender committed.
  const { owners, existing, profiles } = (yield { read: 'working-set', identities: identityKeys, messages: messageKeys }) as WorkingSetRead;
  identityKeys.forEach((key, i) => ws.loadIdentity(key.kind, key.value, owners[i]));
  const timeZone = site.settings.timeZone;
  const rollups = new RollupCounter(timeZone);
  // What each person counted for before this call: the rollups take the difference.
  const before = new Map<string, PersonFacts>();
  // Copies only when asked for: most calls need no before and after.
  const loaded = new Map<string, ProfileRecord>();
  for (const profile of profiles) {
    if (want.profiles) loaded.set(profile.id, structuredClone(profile));
    ws.loadProfile(profile);
    before.set(profile.id, personFacts(profile, timeZone));
  }

  // A message repeated within the call is stored once, as if the repeat came later.
  const seen = new Set<string>();
  const duplicate = messageKeys.map((key, i) => {
    const id = `${key.sender}\u0000${key.messageId}`;
    const repeat = existing[i] || seen.has(id);
    seen.add(id);
    return repeat;
  });
  const outcomes: IngestOutcome[] = duplicate.map((found) => (found ? 'duplicate' : 'stored'));

  const placed: Array<{ event: IngestEvent; profileId: string; sessionId: string }> = [];
  const placedAt: Array<number | null> = events.map(() => null);
  events.forEach((event, i) => {
    if (duplicate[i]) return;
    const profile = ws.profile(resolveProfile(ws, event, options));
    const sessions = profile.computed.sessions;
    const sessionId = applyEvent(profile, event, newId, timeZone);
    ws.touch(profile.id);
    placedAt[i] = placed.length;
    placed.push({ event: rollups.event(event, profile, profile.computed.sessions > sessions), profileId: profile.id, sessionId });
  });
  for (const id of ws.dirty) rollups.person(before.get(id) ?? null, personFacts(ws.profiles.get(id)!, timeZone));

  const writes = writesOf(ws, placed, now, rollups.writes());
  const profileIds = placedAt.map((at) => (at === null ? null : writes.events[at].profileId));
  const result: IngestResult = { outcomes, profileIds, notes: ws.notes };
  if (want.profiles) result.changed = changesOf(ws, loaded, writes, messageKeys, placedAt);
  return { writes, result };
}

/**
 * Each live profile the call changed, before and after. A profile merged into another has no
 * after of its own: its before is the one of the profile it went into when that one is new.
 */
function changesOf(
  ws: WorkingSet,
  loaded: Map<string, ProfileRecord>,
  writes: IngestWrites,
  keys: MessageKey[],
  placedAt: Array<number | null>,
): ProfileChange[] {
  const last = new Map<string, MessageKey>();
  placedAt.forEach((at, i) => {
    if (at !== null) last.set(writes.events[at].profileId, keys[i]);
  });
  const changes: ProfileChange[] = [];
  for (const after of [...writes.newProfiles, ...writes.changedProfiles]) {
    if (after.mergedInto) continue;
    const key = last.get(after.id);
    if (!key) continue;
    let before = loaded.get(after.id) ?? null;
    if (!before) {
      // A new profile that took in loaded ones: it is who they were.
      for (const [id, profile] of loaded) if (ws.final(id) === after.id) before ??= profile;
    }
    changes.push({ before, after, last: key });
  }
  return changes;
}

/** The rows the working set changed, each pointing at the live profile it ended at. */
function writesOf(
  ws: WorkingSet,
  placed: Array<{ event: IngestEvent; profileId: string; sessionId: string }>,
  now: number,
  rollups: RollupWrites,
): IngestWrites {
  const writes: IngestWrites = { merges: ws.merges, identities: [], newProfiles: [], changedProfiles: [], events: [], rollups };
  for (const change of ws.identityChanges.values()) {
    writes.identities.push({ kind: change.kind, value: change.value, profileId: change.profileId && ws.final(change.profileId) });
  }
  for (const id of ws.dirty) {
    const profile = ws.profiles.get(id)!;
    profile.updatedAt = now;
    if (!ws.created.has(id)) writes.changedProfiles.push(profile);
    // A profile made and merged away within this call never needs a row.
    else if (!profile.mergedInto) writes.newProfiles.push(profile);
  }
  for (const { event, profileId, sessionId } of placed) {
    const write: EventWrite = { event, sender: senderOf(event), profileId: ws.final(profileId), sessionId, offer: offerEventOf(event) };
    writes.events.push(write);
  }
  return writes;
}

/**
 * Runs a program against a store that answers at once (SQLite inside its transaction).
 *
 * @example
 * const { writes, result } = runProgram(program(), (request) => answer(request));
 */
export function runProgram<T>(program: IngestProgram<T>, answer: (request: IngestRead) => unknown) {
  let step = program.next();
  while (!step.done) step = program.next(answer(step.value));
  return step.value;
}

/** Runs a program against a store whose answers take a round trip (PostgreSQL). */
export async function runProgramAsync<T>(program: IngestProgram<T>, answer: (request: IngestRead) => Promise<unknown>) {
  let step = program.next();
  while (!step.done) step = program.next(await answer(step.value));
  return step.value;
}
