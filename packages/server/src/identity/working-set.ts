import { MERGE_TIMES_KEPT, mergeProfiles } from '../profiles/computed.js';
import { emptyComputed, type ProfileRecord } from '../profiles/types.js';
import type { IdentityKind, IdentityNote, MergeRecord } from '../store/types.js';

export interface IdentityChange {
  kind: IdentityKind;
  value: string;
  /** null removes the identity. */
  profileId: string | null;
}

const key = (kind: IdentityKind, value: string) => `${kind}\u0000${value}`;

/** How far one profile may grow by identity links (site settings `maxAnonymousIds`, `maxMerges`). */
export interface IdentityCaps {
  maxAnonymousIds: number;
  maxMerges: number;
}

export const DEFAULT_IDENTITY_CAPS: IdentityCaps = { maxAnonymousIds: 100, maxMerges: 100 };

/**
 * The identities and profiles that one ingest call touches, loaded from the store inside its
 * transaction, changed in memory by the identity rules, and written back as a list of changes.
 * Keeping the rules off the database makes them testable alone and lets another store (say
 * PostgreSQL with row locks) reuse them unchanged.
 */
export class WorkingSet {
  private readonly identities = new Map<string, string | null>();
  readonly profiles = new Map<string, ProfileRecord>();
  readonly created = new Set<string>();
  readonly dirty = new Set<string>();
  readonly identityChanges = new Map<string, IdentityChange>();
  readonly merges: MergeRecord[] = [];
  /** Links that messages asked for and the rules refused, reported back to the sender. */
  readonly notes: IdentityNote[] = [];

  constructor(
    readonly siteId: string,
    private readonly newId: () => string,
    readonly now: number,
    private readonly caps: IdentityCaps = DEFAULT_IDENTITY_CAPS,
  ) {}

  /** Loading: what the store found for an identity (null: not known). */
  loadIdentity(kind: IdentityKind, value: string, profileId: string | null) {
    this.identities.set(key(kind, value), profileId);
  }

  loadProfile(profile: ProfileRecord) {
    this.profiles.set(profile.id, profile);
  }

  /** The live profile an id ends at, following merges. */
  final(id: string): string {
    let current = id;
    for (let hops = 0; hops < 64; hops++) {
      const next = this.profiles.get(current)?.mergedInto;
      if (!next) return current;
      current = next;
    }
    return current;
  }

  lookup(kind: IdentityKind, value: string): string | null {
    const id = this.identities.get(key(kind, value));
    return id ? this.final(id) : null;
  }

  /** A user id is found as the current user id of a profile, or as one an alias retired. */
  lookupUser(userId: string): string | null {
    return this.lookup('user', userId) ?? this.lookup('alias', userId);
  }

  profile(id: string): ProfileRecord {
    const profile = this.profiles.get(this.final(id));
    if (!profile) throw new Error(`profile ${id} is not in the working set`);
    return profile;
  }

  /** A new profile; `firstId` is the id it is first known by (its control buckets hash it). */
  create(userId: string | null, firstId: string): ProfileRecord {
    const profile: ProfileRecord = {
      id: this.newId(),
      siteId: this.siteId,
      userId,
      email: null,
      traits: {},
      traitTimes: {},
      computed: { ...emptyComputed(), firstId },
      mergedInto: null,
      createdAt: this.now,
      updatedAt: this.now,
    };
    this.profiles.set(profile.id, profile);
    this.created.add(profile.id);
    this.dirty.add(profile.id);
    return profile;
  }

  touch(id: string) {
    this.dirty.add(this.final(id));
  }

  attach(kind: IdentityKind, value: string, profileId: string) {
    const k = key(kind, value);
    if (kind === 'anonymous') {
      const before = this.identities.get(k);
      const owner = before ? this.final(before) : null;
      if (owner !== this.final(profileId)) {
        this.count(profileId, 'anonymousIds', 1);
        if (owner) this.count(owner, 'anonymousIds', -1);
      }
    }
    this.identities.set(k, profileId);
    this.identityChanges.set(k, { kind, value, profileId });
  }

  /**
   * Whether one more anonymous id may come to a profile: past the cap, a browser that keeps
   * clearing its cookies, or a script, would pile ids onto one customer.
   */
  takesAnonymousId(profileId: string): boolean {
    return (this.profile(profileId).computed.anonymousIds ?? 0) < this.caps.maxAnonymousIds;
  }

  private count(profileId: string, counter: 'anonymousIds', by: number) {
    const profile = this.profiles.get(this.final(profileId));
    if (!profile) return;
    profile.computed[counter] = Math.max(0, (profile.computed[counter] ?? 0) + by);
    this.dirty.add(profile.id);
  }

  detach(kind: IdentityKind, value: string) {
    const k = key(kind, value);
    this.identities.set(k, null);
    this.identityChanges.set(k, { kind, value, profileId: null });
  }

  /**
   * Folds profile `fromId` into `intoId`; the store moves its events and identities. A merge
   * that takes the profile past the site's cap on merges is refused: recorded as `refused`,
   * reported to the sender, and false returned, both profiles left as they were.
   */
  merge(fromId: string, intoId: string, record: Omit<MergeRecord, 'from' | 'into'>): boolean {
    const from = this.profile(fromId);
    const into = this.profile(intoId);
    if (from.id === into.id) return true;
    if ((into.computed.merges ?? 0) + (from.computed.merges ?? 0) + 1 > this.caps.maxMerges) {
      this.merges.push({ ...record, rule: 'refused', from: from.id, into: into.id });
      if (record.messageId) {
        this.refuse({
          messageId: record.messageId,
          code: 'merge_refused',
          field: 'userId',
          message: `the profiles were not merged: one has merged ${this.caps.maxMerges} times, the most this site allows`,
        });
      }
      return false;
    }
    // What no event holds, for a split to restore.
    const snapshot = {
      firstId: from.computed.firstId,
      merges: from.computed.merges ?? 0,
      mergeTimes: from.computed.mergeTimes ?? [],
    };
    mergeProfiles(into, from);
    into.computed.merges = (into.computed.merges ?? 0) + 1;
    into.computed.mergeTimes = [...(into.computed.mergeTimes ?? []), record.at].slice(-MERGE_TIMES_KEPT);
    from.mergedInto = into.id;
    from.userId = null;
    from.email = null;
    from.traits = {};
    from.traitTimes = {};
    from.computed = emptyComputed();
    for (const change of this.identityChanges.values()) {
      if (change.profileId === from.id) change.profileId = into.id;
    }
    this.dirty.add(from.id);
    this.dirty.add(into.id);
    this.merges.push({ ...record, from: from.id, into: into.id, snapshot });
    return true;
  }

  note(record: MergeRecord) {
    this.merges.push(record);
  }

  refuse(note: IdentityNote) {
    this.notes.push(note);
  }
}
