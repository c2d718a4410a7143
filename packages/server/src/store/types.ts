import type { JsonObject, MessageType } from '@rapport/protocol';
import { DEFAULT_BLOCKED_IDS } from '../identity/blocked.js';
import type { ProfileRecord } from '../profiles/types.js';
import type { RollupWrites } from '../reports/rollups.js';

/** A website that sends data to Rapport. Every other row belongs to one. */
export interface Site {
  id: string;
  name: string;
  /** Public key that sits in page source: it can only send data and ask for decisions. */
  writeKey: string;
  /** Server-side key: authenticates trusted calls and signs user ids (`userHash`). */
  secret: string;
  /** Browser origins allowed to call the collect and decide endpoints (CORS). */
  origins: string[];
  settings: SiteSettings;
  createdAt: number;
}

/** Per-site switches. Identity verification is on for new sites; every other one is off unless the site turns it on. */
export interface SiteSettings {
  /**
   * Browser messages with a user id need a valid `context.userHash`, else they count as anonymous.
   * Off, anyone who knows a customer's user id can claim to be them: their browser joins that
   * customer's profile, and its slots show that customer's traits and codes.
   */
  requireUserHash: boolean;
  /** Keep the full client IP instead of a truncated one (IPv4 /24, IPv6 /48). */
  storeFullIp: boolean;
  /** An email in traits links profiles that share it. */
  emailMatching: boolean;
  /** Decisions may tell the browser which segments matched (for debugging). */
  exposeSegments: boolean;
  /** Events older than this many days (event time) are deleted; null keeps them. */
  retentionDays: number | null;
  /**
   * The IANA time zone of the site's days (`Europe/Berlin`): rollups, console charts and report
   * ranges count in it. Changing it rebuilds the site's rollups.
   */
  timeZone: string;
  /**
   * Where automation emails go out: `smtp://user:pass@host:587` (STARTTLS when offered) or
   * `smtps://...:465`; null, and email steps fail with the reason.
   */
  smtpUrl: string | null;
  /** The From of automation emails: `Shop <shop@example.com>`. */
  mailFrom: string | null;
  /**
   * Hours of the site's day in which automations send nothing (`{ from: 22, to: 8 }`: 22:00 to
   * 08:00); a send that falls due then waits for their end. Null: none.
   */
  quietHours: { from: number; to: number } | null;
  /** At most this many sends (emails and webhooks) to one person within `days`, all automations together; null: no cap. */
  sendCap: { sends: number; days: number } | null;
  /**
   * Identifier values that name no one (`null`, `guest`, ...): a message's user or anonymous id
   * that is one of them counts as absent, with a warning. See `identity/blocked.ts`.
   */
  blockedIds: string[];
  /** The most anonymous ids one profile takes; a link past it is refused, with a warning. */
  maxAnonymousIds: number;
  /** The most merges into one profile; a merge past it is refused, recorded and reported. */
  maxMerges: number;
  /** The customer self-service page (self-service/): what customers may see and change there, and its look. */
  selfService: SelfServiceSettings;
  /** How the site's recommendation models are trained and attributed (recommendations/). */
  recommendations: RecommendationSettings;
}

/** A site's recommendation settings. */
export interface RecommendationSettings {
  /** Minutes between trainings of the site's models; 0 trains only on request. */
  trainEveryMinutes: number;
  /** Days of events a training reads. */
  lookbackDays: number;
  /** Categories whose products "for you" may recommend again to someone who bought them (consumables). */
  boughtAgainCategories: string[];
  /** Days after a click on a recommended product in which its order counts for the recommendation. */
  attributionDays: number;
}

export const DEFAULT_RECOMMENDATIONS: RecommendationSettings = {
  trainEveryMinutes: 60,
  lookbackDays: 180,
  boughtAgainCategories: [],
  attributionDays: 7,
};

/** What a site's customers see and may change on their self-service page. */
export interface SelfServiceSettings {
  /** Traits the customer may correct (each change an `identify` recorded as self-service). */
  editableTraits: string[];
  /** Ids of the segments whose membership the page shows; others are never shown. */
  shownSegments: string[];
  /** The site's stylesheet for the page (an https URL), or null for Rapport's own. */
  cssUrl: string | null;
  /** The site's logo (an https URL), or null. */
  logoUrl: string | null;
}

export const DEFAULT_SELF_SERVICE: SelfServiceSettings = {
  editableTraits: ['firstName', 'lastName', 'phone', 'address', 'preferences'],
  shownSegments: [],
  cssUrl: null,
  logoUrl: null,
};

/** The settings that are on or off. */
export type SiteSwitch = { [K in keyof SiteSettings]: SiteSettings[K] extends boolean ? K : never }[keyof SiteSettings];

export const DEFAULT_SITE_SETTINGS: SiteSettings = {
  requireUserHash: true,
  storeFullIp: false,
  emailMatching: false,
  exposeSegments: false,
  retentionDays: null,
  timeZone: 'UTC',
  smtpUrl: null,
  mailFrom: null,
  quietHours: null,
  sendCap: { sends: 3, days: 1 },
  blockedIds: [...DEFAULT_BLOCKED_IDS],
  maxAnonymousIds: 100,
  maxMerges: 100,
  selfService: DEFAULT_SELF_SERVICE,
  recommendations: DEFAULT_RECOMMENDATIONS,
};

export interface NewSite {
  name: string;
  origins: string[];
  settings?: Partial<SiteSettings>;
}

export interface SitePatch {
  name?: string;
  origins?: string[];
  settings?: Partial<SiteSettings>;
  /** Replace the secret (rotation); the old one stops working at once. */
  rotateSecret?: boolean;
}

/** Device facts derived from the user agent at ingest. */
export interface DeviceInfo {
  type: string;
  os: string | null;
  browser: string | null;
}

/**
 * Who vouches for a message's ids. `trusted`: sent with the site secret (a server of the site).
 * `verified`: sent with the public write key, with a user id whose `userHash` is valid.
 * `untrusted`: sent with the write key, with no user id or one that nothing vouches for (a site
 * that does not require verification keeps it). The identity rules grant each level its own rights.
 */
export type Trust = 'trusted' | 'verified' | 'untrusted';

/**
 * A message after validation, normalization and enrichment: what the store persists.
 * `message` keeps every field the sender sent (unknown ones included).
 */
export interface IngestEvent {
  messageId: string;
  type: MessageType;
  /** Event name for `track`, page or screen name otherwise. */
  name: string | null;
  anonymousId: string | null;
  /** The user id the event counts for; null when verification demoted it to anonymous. */
  userId: string | null;
  /** `alias` only: the id that becomes the user id's past. */
  previousId: string | null;
  trust: Trust;
  /** Corrected event time, ms since the epoch. */
  timestamp: number;
  receivedAt: number;
  /** Traits of `identify` and `group`, cleaned. */
  traits: JsonObject | null;
  properties: JsonObject | null;
  message: JsonObject;
  enrichment: Enrichment;
}

/**
 * Where a page view came from: the referrer classified, with the campaign of the page URL.
 * `medium` is one of search, social, email, paid, internal, unknown, direct.
 */
export interface Referral {
  medium: string;
  source: string | null;
  term: string | null;
  campaign: string | null;
  referrer: string | null;
  landingPage: string | null;
}

export interface Enrichment {
  ip: string | null;
  device: DeviceInfo | null;
  /** Referral of this page: `context.page.referrer` and the page URL's campaign. */
  referral: Referral | null;
  /** Campaign parameters of the page URL merged over `context.campaign`. */
  campaign: Record<string, string> | null;
  page: { url: string | null; path: string | null; title: string | null } | null;
  /** The visitor's first visit as the SDK remembers it (`context.firstTouch`), classified. */
  firstTouch: (Referral & { at: number }) | null;
  /** An Order Completed only: the buyer's first and last touch when it was stored (see reports/rollups.ts). */
  attribution?: { first: TouchKey; last: TouchKey };
}

/** A touch as the rollups and the attribution report group it: no touch at all is medium `(none)`. */
export interface TouchKey {
  medium: string;
  source: string;
  campaign: string;
  term: string;
}

/** An event as the admin API shows it. */
export interface StoredEvent {
  id: string;
  siteId: string;
  profileId: string;
  messageId: string;
  type: MessageType;
  event: string | null;
  name: string | null;
  anonymousId: string | null;
  userId: string | null;
  sessionId: string | null;
  timestamp: string;
  receivedAt: string;
  properties: JsonObject | null;
  traits: JsonObject | null;
  context: JsonObject | null;
  enrichment: Enrichment;
  /** Who vouched for the message's ids when it was stored; null for events stored before it was kept. */
  trust: Trust | null;
  /** Every other field the sender sent. */
  extra: JsonObject;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface EventQuery {
  siteId: string;
  type?: MessageType;
  profileId?: string;
  anonymousId?: string;
  userId?: string;
  limit: number;
  cursor?: string;
}

/** What happened to one message of an ingest call. */
export type IngestOutcome = 'stored' | 'duplicate';

export interface IngestResult {
  outcomes: IngestOutcome[];
  /** Per message, the live profile it was stored on; null for a duplicate. */
  profileIds: Array<string | null>;
  /**
   * Asked for with `IngestOptions.profiles`: each live profile the call changed, as it was before
   * (null when the call made it) and as it is now. What automations compare to find who entered
   * a segment or reached a value.
   */
  changed?: ProfileChange[];
  /** What the identity rules refused to do for a message (a link it asked for), by message id. */
  notes: IdentityNote[];
}

export interface ProfileChange {
  before: ProfileRecord | null;
  after: ProfileRecord;
  /** The last message of the call stored on this profile: its sender and id name the change. */
  last: MessageKey;
}

export interface IngestOptions {
  /** Return the changed profiles (`IngestResult.changed`). @default false */
  profiles?: boolean;
}

/** An identity link that a message asked for and was refused, with the reason: reported as a warning. */
export interface IdentityNote {
  messageId: string;
  code: string;
  field: string;
  message: string;
}

/**
 * The one read that the ingest pipeline (collect/pipeline.ts) asks of a store inside its
 * transaction, answered as a `WorkingSet` that stays stable until commit. One read rather
 * than three, so that a store across the network answers it in one round trip.
 */
export type IngestRead = WorkingSetRequest | HistoryRequest;

export interface WorkingSetRequest {
  read: 'working-set';
  /** On a store shared by several processes these are locked first (absent ones too), in a fixed order. */
  identities: Identity[];
  /** The dedupe keys of the call's messages. */
  messages: MessageKey[];
}

/**
 * The second read of an operator's merge or split (identity/), after its working set locked the
 * identities: two profiles by id, locked until commit, with the identities, events (oldest
 * first, when asked for) and tombstones of the first, and the history of both.
 */
export interface HistoryRequest {
  read: 'history';
  profileId: string;
  /** The other profile: the one merged in, or the one merged away whose merge is undone. */
  otherId: string;
  withEvents: boolean;
}

/** A store's answer to a `HistoryRequest`; a profile that does not exist is null. */
export interface HistoryRead {
  profile: ProfileRecord | null;
  other: ProfileRecord | null;
  identities: Identity[];
  events: StoredEvent[];
  /** Ids of the profiles merged into the first (directly or not). */
  tombstones: string[];
  /** Merges into or out of either profile, oldest first. */
  merges: MergeRecord[];
}

/** A store's answer to an `IngestRead`. */
export interface WorkingSetRead {
  /** The live profile id each identity points to, or null; in the order asked. */
  owners: Array<string | null>;
  /** Whether each message is stored already (dedupe by sender and message id); in the order asked. */
  existing: boolean[];
  /** The profiles that `owners` name, each once, locked until commit. */
  profiles: ProfileRecord[];
}

/** Message ids are unique per sender: the anonymous id of the message, else its user id. */
export interface MessageKey {
  sender: string;
  messageId: string;
}

/** What one ingest call writes, decided by the pipeline; a store turns it into rows. */
export interface IngestWrites {
  /**
   * In order. A merge with a `from` and a rule other than `anonymous-moved` moves every row of
   * `from` (events, identities, offer events, tombstones pointing at it) to `into`.
   */
  merges: MergeRecord[];
  /** A null profile id removes the identity. */
  identities: Array<Identity & { profileId: string | null }>;
  newProfiles: ProfileRecord[];
  changedProfiles: ProfileRecord[];
  events: EventWrite[];
  /** Increments of the rollup rows, in key order (see reports/rollups.ts). */
  rollups: RollupWrites;
  /** An operator's split (identity/split.ts): rows that go back to the restored profile. */
  split?: SplitWrites;
}

/**
 * What a split moves back, applied after the profiles are written: events (by id) and
 * tombstones to the restored profile, the offer events of both profiles rebuilt from their
 * events, and the merge it undoes marked as undone.
 */
export interface SplitWrites {
  restored: string;
  live: string;
  eventIds: string[];
  tombstones: string[];
  /** Every offer event of the two profiles, replacing the ones stored. */
  offerEvents: Array<{ profileId: string; offerId: string; kind: OfferEventKind; timestamp: number }>;
  undo: { mergeId: string; at: number };
}

/** One message to store, with the profile it ended at and its derived columns. */
export interface EventWrite {
  event: IngestEvent;
  sender: string;
  profileId: string;
  sessionId: string;
  /** The offer event it records (an SDK slot event naming an offer), if any. */
  offer: { offerId: string; kind: OfferEventKind } | null;
}

export type OfferEventKind = 'impression' | 'click' | 'control';

/**
 * The pipeline's work for one ingest call: yields reads, receives their answers, and returns the
 * writes and its result. A store may run it more than once (a retry after a deadlock), so it is
 * made fresh by a function each time and has no effects of its own.
 */
export type IngestProgram<T> = Generator<IngestRead, { writes: IngestWrites; result: T }, unknown>;

/** Identities that point at a profile. `alias` holds user ids that an alias retired. */
export type IdentityKind = 'anonymous' | 'user' | 'alias' | 'email';

export interface Identity {
  kind: IdentityKind;
  value: string;
}

/** `operator`: merged by hand (identity/operator-merge.ts); `split`: an operator undid a merge (identity/split.ts). */
export type MergeRule = 'identify' | 'alias' | 'email' | 'operator' | 'anonymous-moved' | 'refused' | 'split';

/** Whether a recorded merge moved one profile's rows into another (a move of an anonymous id, a refused merge or a split moves none). */
export const movesRows = (m: MergeRecord) =>
  m.from !== null && (m.rule === 'identify' || m.rule === 'alias' || m.rule === 'email' || m.rule === 'operator');

/** One entry of a profile's history: a merge, or an anonymous id that moved to another user. */
export interface MergeRecord {
  into: string;
  /** The profile merged away, or (for `anonymous-moved`) the profile the id left; null when a profile only gained an id. */
  from: string | null;
  rule: MergeRule;
  ids: { anonymousId?: string | null; userId?: string | null; previousId?: string | null; email?: string | null };
  messageId: string | null;
  at: number;
  /** The store's id of the record (absent before it is written). */
  id?: string;
  /** Who did it: the operator of an `operator` merge or a `split` (console or API); absent for ingest. */
  by?: string | null;
  /** What a split needs to restore the profile merged away (a merge that moved rows). */
  snapshot?: MergeSnapshot;
  /** When an operator's split undid this merge. */
  undoneAt?: number | null;
}

/**
 * The merged-away profile as it was when merged: its identities and the tombstones that pointed
 * at it (the store takes them as it moves the rows), and the counters that no event holds.
 */
export interface MergeSnapshot {
  identities?: Identity[];
  tombstones?: string[];
  firstId: string | null;
  merges: number;
  mergeTimes: number[];
}

export interface ProfileQuery {
  siteId: string;
  userId?: string;
  anonymousId?: string;
  email?: string;
  /** Free text: matched against user ids, emails, anonymous ids and trait values. */
  q?: string;
  limit: number;
  cursor?: string;
}

/** Everything stored about one person: what an export hands over and an erasure removes. */
export interface ProfileExport {
  profile: ProfileRecord;
  identities: Identity[];
  merges: MergeRecord[];
  events: StoredEvent[];
}

export interface ErasureResult {
  profiles: number;
  identities: number;
  events: number;
  merges: number;
  /** Automation runs of the person, whatever their state: none is left to send anything. */
  runs: number;
}

/** The per-profile figures that site-wide rankings (ABC, RFM) need. */
export interface RankingInput {
  id: string;
  orders: number;
  revenue: number;
  lastOrderAt: number | null;
}

/**
 * A console login as the store keeps it: by a SHA-256 of the cookie's value, never the value, so
 * that a read of the database logs no one in. Every node of a deployment knows every login.
 */
export interface SessionRow {
  idHash: string;
  csrf: string;
  createdAt: number;
  expiresAt: number;
}
