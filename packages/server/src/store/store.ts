import type { DayCounts, RollupWrites, TouchCounts, TouchKind } from '../reports/rollups.js';
import type { Offer, OfferEventRow, Segment } from '../decisions/types.js';
import type { PackedRankings } from '../profiles/rankings.js';
import type { AutomationStore } from './automations.js';
import type { RecommendationStore } from './recommendations.js';
import type { ProfileRecord, RuleProfile } from '../profiles/types.js';
import type {
  ErasureResult,
  EventQuery,
  Identity,
  IdentityKind,
  MergeRecord,
  ProfileExport,
  ProfileQuery,
  RankingInput,
  SessionRow,
  IngestProgram,
  NewSite,
  Page,
  Site,
  SitePatch,
  StoredEvent,
  TouchKey,
} from './types.js';

/**
 * Everything Rapport keeps, behind one asynchronous interface. SQLite (`SqliteStore`) is the
 * embedded default; the methods are coarse (one call, one transaction) so that a PostgreSQL
 * store can implement them with the same guarantees.
 */
export interface Store {
  /** Which engine this is, for `/healthz` and the logs. */
  readonly kind: 'sqlite' | 'postgres';
  /** Follow-up automations and their runs (store/automations.ts). */
  readonly automations: AutomationStore;
  /** The product catalog and the trained recommendation models (store/recommendations.ts). */
  readonly recommendations: RecommendationStore;
  /** True when the database answers a query. */
  health(): Promise<boolean>;
  /** The number of the newest migration applied (opening a store applies them all). */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;

  /**
   * Tells this process of changes that other processes made to what a node caches (sites, the
   * segments and offers of a site, its rankings), within a second; `everything` after a lost
   * connection, when some may have been missed. A store of one process never calls it. Returns
   * a function that stops the listening.
   */
  onChange(listener: (change: StoreChange) => void): () => void;

  /**
   * Takes, or renews, a lease on a named piece of work for `ms`: true when `holder` holds it
   * now. Work that must run once for all nodes (a site's ranking refresh) runs where it is true.
   */
  lease(name: string, holder: string, ms: number): Promise<boolean>;

  /**
   * Deletes what is older than each site's cutoff (event time, ms): events and offer events, and
   * the dedupe keys of messages received before it. A null cutoff keeps everything of that site.
   * A store with partitions drops whole ones where every site's cutoff allows it.
   */
  applyRetention(cutoffs: Array<{ siteId: string; before: number | null }>): Promise<RetentionResult>;

  /** Keeps a console login; drops the expired ones, and the oldest past the newest `keep`. */
  saveSession(session: SessionRow, keep: number): Promise<void>;
  /** A login that has not expired as of `now`, else null. */
  getSession(idHash: string, now: number): Promise<SessionRow | null>;
  deleteSession(idHash: string): Promise<void>;

  getMeta(key: string): Promise<string | null>;
  /** Stores `value` unless the key has one, and returns the one stored: nodes starting at once agree. */
  setMetaIfAbsent(key: string, value: string): Promise<string>;
  setMeta(key: string, value: string): Promise<void>;
  /** Deletes the meta values whose key starts with `prefix` and is not in `keep`; returns how many. */
  deleteMeta(prefix: string, keep?: string[]): Promise<number>;

  createSite(site: NewSite & { id: string; writeKey: string; secret: string }): Promise<Site>;
  updateSite(id: string, patch: SitePatch & { secret?: string }): Promise<Site | null>;
  listSites(): Promise<Site[]>;

  /**
   * Runs one ingest call of the pipeline (collect/pipeline.ts) in one transaction of a site:
   * answers its reads (see `IngestRead`), writes what it returns, and resolves with its result
   * only once the transaction is committed. A store that must retry (a deadlock, a unique key
   * taken by a concurrent writer, a profile merged away meanwhile) runs a fresh program again.
   */
  ingestTransaction<T>(siteId: string, program: () => IngestProgram<T>): Promise<T>;

  /** Events of a site, newest first. */
  listEvents(query: EventQuery): Promise<Page<StoredEvent>>;

  /** A profile by id, tombstones of merged profiles included (their `mergedInto` says where to go). */
  getProfile(siteId: string, id: string): Promise<ProfileRecord | null>;
  /** The live profile an identity points to. */
  findProfileId(siteId: string, kind: IdentityKind, value: string): Promise<string | null>;
  /**
   * The live profile of the first of `identities` that points to one, in one lookup: what a
   * decision needs before it answers.
   *
   * @example
   * await store.findProfile(site.id, [{ kind: 'user', value: 'u1' }, { kind: 'anonymous', value: 'a1' }]);
   */
  findProfile(siteId: string, identities: Identity[]): Promise<ProfileRecord | null>;
  profileIdentities(siteId: string, id: string): Promise<Identity[]>;
  /** Merges into or out of the profile, oldest first. */
  profileMerges(siteId: string, id: string): Promise<MergeRecord[]>;
  /** Live profiles, most recently seen first. */
  listProfiles(query: ProfileQuery): Promise<Page<ProfileRecord>>;
  /** A profile's events, newest (by event time) first. */
  profileEvents(siteId: string, id: string, limit: number, cursor?: string): Promise<Page<StoredEvent>>;
  exportProfile(siteId: string, id: string): Promise<ProfileExport | null>;
  /**
   * Erasure: the profile, its merged-away tombstones, identities, events and history rows. In
   * the same transaction, `uncount` (given the profile and its events, oldest first, as read
   * under lock) says what to take out of the rollups; rows it leaves at zero are deleted, so that
   * none is left that only this person made.
   *
   * @example
   * await store.deleteProfile(site.id, id, (profile, events) => uncountPerson(profile, events, timeZone));
   */
  deleteProfile(siteId: string, id: string, uncount?: (profile: ProfileRecord, events: StoredEvent[]) => RollupWrites): Promise<ErasureResult>;
  /** The live profiles of a site that ordered or have revenue: the ones rankings sort. */
  rankingInputs(siteId: string): Promise<RankingInput[]>;
  /**
   * ABC classes and RFM scores of a site's customers as of `now`, packed (off the event loop
   * where the store can; `unpackRankings` makes the maps decisions read).
   */
  rankings(siteId: string, now: number): Promise<PackedRankings>;
  /** Calls `visit` for every live profile of a site, most recently seen first; `visit` returns false to stop. */
  scanProfiles(siteId: string, visit: (profile: ProfileRecord) => boolean | void, after?: string): Promise<void>;

  listSegments(siteId: string): Promise<Segment[]>;
  /** Inserts or replaces; a name already used by another segment of the site is a `ConflictError`. */
  saveSegment(segment: Segment): Promise<void>;
  deleteSegment(siteId: string, id: string): Promise<boolean>;
  listOffers(siteId: string): Promise<Offer[]>;
  saveOffer(offer: Offer): Promise<void>;
  deleteOffer(siteId: string, id: string): Promise<boolean>;
  /** Impressions, clicks and control exposures of an offer, oldest first. */
  offerEvents(siteId: string, offerId: string): Promise<OfferEventRow[]>;
  /**
   * For each profile, the time of its first `event` (a track) within `from`..`to` inclusive, or
   * null: goal conversions of an offer report, for every exposed visitor in one call.
   */
  firstEventsBetween(siteId: string, event: string, windows: Array<{ profileId: string; from: number; to: number }>): Promise<Array<number | null>>;

  // Rollups (reports/rollups.ts): kept by ingest, read by the console and the reports.

  /**
   * The site's per-day totals of the local days `from`..`to` (inclusive), ascending; a day
   * without a row has no figures yet.
   *
   * @example
   * await store.rollupDays(site.id, range.from, range.to); // [{ day: 20424, events: 120, visitors: 31, ... }]
   */
  rollupDays(siteId: string, from: number, to: number): Promise<Array<{ day: number } & DayCounts>>;
  /**
   * The site's figures by one touch of the days `from`..`to`, summed by the fields `by` of the
   * touch (the rows have those fields only), in no order.
   *
   * @example
   * await store.rollupTouches(site.id, 'first', range.from, range.to, ['term']); // [{ term: 'boots', orders: 3, ... }]
   */
  rollupTouches(siteId: string, touch: TouchKind, from: number, to: number, by: TouchField[]): Promise<Array<Partial<TouchKey> & TouchCounts>>;
  /** Live profiles of a site with a user id. */
  countIdentified(siteId: string): Promise<number>;
  /**
   * The `Order Completed` events of a site with a timestamp in `from`..`to` (ms, inclusive), in
   * no order: what a report filtered by segment credits, the rollups being for everyone.
   *
   * @example
   * await store.ordersBetween(site.id, dayStart(range.from, tz), dayStart(range.to + 1, tz) - 1);
   */
  ordersBetween(siteId: string, from: number, to: number): Promise<StoredEvent[]>;
  /** Live profiles of a site in id order after `afterId`, each with its events oldest first: what a rebuild recounts. */
  profileHistories(siteId: string, afterId: string | null, limit: number): Promise<Array<{ profile: ProfileRecord; events: StoredEvent[] }>>;
  /** Rewrites the computed attributes of these profiles (a rebuild's recount of their days). */
  updateComputed(siteId: string, profiles: ProfileRecord[]): Promise<void>;
  /** Replaces every rollup row of a site at once (`rapport rollups rebuild`). */
  replaceRollups(siteId: string, rollups: RollupWrites): Promise<void>;

  // Reports over events (reports/funnel.ts, reports/cohorts.ts): computed off the event loop
  // (SQLite's read worker, PostgreSQL's server), reading only what the report needs.

  /**
   * A strict ordered funnel: the people whose first step-1 event with a time in `from`..`to`
   * (ms, `to` excluded) is their entry, and how many of them went on to each next step, each
   * after the previous one (by time, then by order of storing) and at most `windowMs` after
   * their entry. Reads only the events of the steps, from `from` to `to + windowMs`.
   * `steps[k]` counts the people who reached step k + 1; `groups` (with `by`) the same per key:
   * the source or medium of the person's first touch (`''` and `(none)` when there is none), or
   * `in` and `out` of a segment.
   *
   * @example
   * await store.funnel(site.id, { steps: [{ event: 'Product Viewed' }, { path: '/checkout' }], from, to, windowMs: 7 * DAY_MS });
   * // { steps: [1200, 310] }
   */
  funnel(siteId: string, query: FunnelQuery): Promise<FunnelCounts>;
  /**
   * Weekly cohorts: the live profiles first seen on the local days `from`..`from + 7 *
   * cohortWeeks - 1`, by their week, and how many of each came back (`return`: any event) or
   * ordered (`order`: an Order Completed) in each of the `weeks` weeks after their own;
   * `groups` (with `bySource`) the same by the source of their first touch (`''` when none).
   * Day boundaries come in `dayStarts`, so that no store needs to know time zones (a store may
   * read the days with an event from the profile's `activeDays`, which ingest keeps in the
   * site's days: the same days, read without the events).
   *
   * @example
   * await store.cohorts(site.id, { from: monday, dayStarts, cohortWeeks: 4, weeks: 12, metric: 'return', bySource: false });
   * // { cohorts: [{ week: monday, people: 310, returned: [82, 40, ...] }, ...] }
   */
  cohorts(siteId: string, query: CohortQuery): Promise<CohortCounts>;
}

/** A step of a funnel: a `track` event by its name, or a page view (`page`) of a path, exactly. */
export type FunnelStep = { event: string } | { path: string };

/** What `Store.funnel` counts; see there. */
export interface FunnelQuery {
  steps: FunnelStep[];
  /** Entries (step 1) from this instant on, ms. */
  from: number;
  /** Entries before this instant, ms. */
  to: number;
  /** How long after their entry a person may take for the later steps, ms (inclusive). */
  windowMs: number;
  by?: FunnelSplit;
}

/** A funnel's split: by a field of the person's first touch, or in a segment or not (as the person is now). */
export type FunnelSplit = { touch: 'source' | 'medium' } | { segment: (profile: RuleProfile) => boolean };

export interface FunnelCounts {
  /** People who reached each step, from the first. */
  steps: number[];
  groups?: Array<{ key: string; steps: number[] }>;
}

/** What `Store.cohorts` counts; see there. */
export interface CohortQuery {
  /** The first cohort's Monday, a local day number (reports/days.ts). */
  from: number;
  /**
   * `dayStarts[i]`: the instant (ms) the local day `from + i` begins, for every day of the
   * cohorts and of the weeks after the last one, and one more for the end of the last day:
   * `7 * (cohortWeeks + weeks) + 1` instants.
   */
  dayStarts: number[];
  cohortWeeks: number;
  /** Weeks after its own counted for each cohort (12 in the report). */
  weeks: number;
  metric: 'return' | 'order';
  bySource: boolean;
}

export interface CohortRow {
  /** The cohort's Monday (a local day number). */
  week: number;
  people: number;
  /** `returned[k - 1]`: the cohort's people who came back (or ordered) in week k after theirs. */
  returned: number[];
}

export interface CohortCounts {
  cohorts: CohortRow[];
  groups?: Array<{ key: string; cohorts: CohortRow[] }>;
}

/** The fields of a touch that rollups can be summed by. */
export type TouchField = 'medium' | 'source' | 'campaign' | 'term';
export const TOUCH_FIELDS: readonly TouchField[] = ['medium', 'source', 'campaign', 'term'];

/** The GROUP BY of `rollupTouches`: only names of `TOUCH_FIELDS`, in their order, never a value. */
export function touchColumns(by: TouchField[]): string {
  const columns = TOUCH_FIELDS.filter((f) => by.includes(f));
  if (columns.length === 0) throw new Error('rollupTouches needs at least one field to sum by');
  return columns.join(', ');
}

/** What changed, as `onChange` reports it. */
export type StoreChange =
  | { what: 'sites' }
  | { what: 'catalog' | 'rankings'; siteId: string }
  | { what: 'everything' };

export interface RetentionResult {
  events: number;
  /** Whole partitions dropped (PostgreSQL), each counted in `events` too. */
  partitionsDropped: number;
}

/**
 * The database cannot be reached, or is shutting down or starting: nothing was written. Routes
 * answer 503 with Retry-After, so that senders keep the messages and try again.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

/** A write that contradicts what is stored (a duplicate name, say); routes answer 409. */
export class ConflictError extends Error {}
