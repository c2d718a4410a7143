import { newId } from '../ids.js';
import type { ProfileRecord } from '../profiles/types.js';
import { personFacts, RollupCounter } from '../reports/rollups.js';
import type { Store } from '../store/store.js';
import { ConflictError } from '../store/store.js';
import type { HistoryRead, Identity, IngestProgram, IngestWrites, MergeRecord, Site, WorkingSetRead } from '../store/types.js';
import { WorkingSet } from './working-set.js';

/** What an operator's merge would do, shown before it is done. */
export interface MergePreview {
  into: { id: string; userId: string | null; email: string | null };
  from: { id: string; userId: string | null; email: string | null };
  /** The identities of `from` that go to `into`. */
  identities: Identity[];
  /** The events `from` counted (they all move). */
  events: number;
  /** The user id of `from` when both have one: it stays findable, as a retired id (`alias`) of `into`. */
  retiredUserId: string | null;
  /** Each trait of either profile, the value that wins (the one set last) and whose it is. */
  traits: Array<{ key: string; value: unknown; winner: 'into' | 'from'; other?: unknown }>;
  /** Merges already into `into` and `from`, and whether the result passes the site's cap (operators may pass it). */
  merges: { into: number; from: number; overCap: boolean };
}

export interface OperatorMergeResult {
  into: ProfileRecord;
  merge: MergeRecord;
}

/**
 * What merging profile `fromId` into `intoId` would move and which traits would win, read
 * without changing anything; null when either profile is not found in the site.
 *
 * @example
 * const preview = await previewMerge(store, site, 'p_kept', 'p_duplicate'); // preview.traits: [{ key: 'email', winner: 'from', ... }]
 */
export async function previewMerge(store: Store, site: Site, intoId: string, fromId: string): Promise<MergePreview | null> {
  const [into, from] = await Promise.all([store.getProfile(site.id, intoId), store.getProfile(site.id, fromId)]);
  if (!into || !from) return null;
  refuseUnless(into, from);
  const identities = await store.profileIdentities(site.id, from.id);
  const keys = new Set([...Object.keys(into.traits), ...Object.keys(from.traits)]);
  const traits = [...keys].sort().map((key) => {
    const inInto = Object.hasOwn(into.traits, key);
    const inFrom = Object.hasOwn(from.traits, key);
    // As `mergeProfiles` decides: the newer value, the kept profile's on a tie.
    const fromWins = inFrom && (!inInto || (from.traitTimes[key] ?? 0) > (into.traitTimes[key] ?? 0));
    const row: MergePreview['traits'][number] = { key, value: fromWins ? from.traits[key] : into.traits[key], winner: fromWins ? 'from' : 'into' };
    if (inInto && inFrom && JSON.stringify(into.traits[key]) !== JSON.stringify(from.traits[key])) {
      row.other = fromWins ? into.traits[key] : from.traits[key];
    }
    return row;
  });
  const mergesInto = into.computed.merges ?? 0;
  const mergesFrom = from.computed.merges ?? 0;
  return {
    into: { id: into.id, userId: into.userId, email: into.email },
    from: { id: from.id, userId: from.userId, email: from.email },
    identities,
    events: from.computed.eventCount,
    retiredUserId: into.userId && from.userId ? from.userId : null,
    traits,
    merges: { into: mergesInto, from: mergesFrom, overCap: mergesInto + mergesFrom + 1 > site.settings.maxMerges },
  };
}

/**
 * Merges profile `fromId` into `intoId` by an operator's decision, recorded with who did it
 * (`by`) and when. Unlike a merge at ingest it may join two identified customers: the user id of
 * `from` is retired into `into` (found as an `alias`, as `alias()` with the site secret does), and
 * it may pass the site's cap on merges, which guards against runaway merges from messages. A
 * split (identity/split.ts) undoes it. Null when either profile is not found.
 *
 * @example
 * await mergeByOperator(store, site, 'p_kept', 'p_duplicate', 'console', Date.now());
 */
export async function mergeByOperator(
  store: Store,
  site: Site,
  intoId: string,
  fromId: string,
  by: string,
  now: number,
): Promise<OperatorMergeResult | null> {
  const [intoIds, fromIds] = await Promise.all([store.profileIdentities(site.id, intoId), store.profileIdentities(site.id, fromId)]);
  return store.ingestTransaction(site.id, () => operatorMergeProgram(site, intoId, fromId, [...intoIds, ...fromIds], by, now));
}

function* operatorMergeProgram(
  site: Site,
  intoId: string,
  fromId: string,
  identities: Identity[],
  by: string,
  now: number,
): IngestProgram<OperatorMergeResult | null> {
  // Locks the identities as ingest does, so that no message for either person lands meanwhile.
  const { owners } = (yield { read: 'working-set', identities, messages: [] }) as WorkingSetRead;
  const read = (yield { read: 'history', profileId: intoId, otherId: fromId, withEvents: false }) as HistoryRead;
  const none: IngestWrites = { merges: [], identities: [], newProfiles: [], changedProfiles: [], events: [], rollups: { days: [], touches: [] } };
  if (!read.profile || !read.other) return { writes: none, result: null };
  const into = read.profile;
  const from = read.other;
  refuseUnless(into, from);

  const ws = new WorkingSet(site.id, newId, now, { maxAnonymousIds: Infinity, maxMerges: Infinity });
  identities.forEach((k, i) => ws.loadIdentity(k.kind, k.value, owners[i]));
  ws.loadProfile(into);
  ws.loadProfile(from);
  const timeZone = site.settings.timeZone;
  const before = [personFacts(into, timeZone), personFacts(from, timeZone)];
  const retired = into.userId && from.userId ? from.userId : null;
  const merged = ws.merge(from.id, into.id, {
    rule: 'operator',
    ids: { userId: from.userId, email: from.email },
    messageId: null,
    at: now,
    by,
  });
  if (!merged) throw new ConflictError('the profiles could not be merged');
  if (retired) {
    ws.detach('user', retired);
    ws.attach('alias', retired, into.id);
  }
  into.updatedAt = now;
  from.updatedAt = now;
  const rollups = new RollupCounter(timeZone);
  rollups.person(before[0], personFacts(into, timeZone));
  rollups.person(before[1], personFacts(from, timeZone));
  const writes: IngestWrites = {
    merges: ws.merges,
    identities: [...ws.identityChanges.values()].map((c) => ({ kind: c.kind, value: c.value, profileId: c.profileId && ws.final(c.profileId) })),
    newProfiles: [],
    changedProfiles: [into, from],
    events: [],
    rollups: rollups.writes(),
  };
  return { writes, result: { into, merge: ws.merges[ws.merges.length - 1] } };
}

/** Two live, different profiles of one site, or a `ConflictError` that says why not. */
function refuseUnless(into: ProfileRecord, from: ProfileRecord) {
  if (into.id === from.id) throw new ConflictError('a profile cannot be merged into itself');
  for (const p of [into, from]) {
    if (p.mergedInto) throw new ConflictError(`profile ${p.id} was merged into ${p.mergedInto} already: merge that one`);
  }
}
