import type { JsonObject } from '@rapport/protocol';
import type { Referral } from '../store/types.js';

/** Where a visit came from (its referral), and when. */
export type Touch = Referral & { at: number };

/** The browser session the server currently counts for a profile. */
export interface SessionState {
  id: string;
  start: number;
  last: number;
  /** Campaign key of the session; a different one arriving starts a new session. */
  campaign: string | null;
}

/**
 * Attributes kept current at ingest so that a decision reads one row. Stored as JSON in the
 * profile row. Derived figures (average order value, lifetime values, days since first and last
 * seen) are computed when read: see `describeComputed`.
 */
export interface ConsentRecord {
  granted: boolean;
  at: number;
  trust: 'trusted' | 'verified' | 'untrusted';
}

export interface Computed {
  firstSeen: number | null;
  lastSeen: number | null;
  sessions: number;
  pageviews: number;
  eventCount: number;
  /**
   * Count of each `track` event name: the most frequent `MAX_EVENT_NAMES` (see computed.ts), so a
   * rare name may be missing; `eventCount` counts every event.
   */
  events: Record<string, number>;
  /**
   * Per-day counts of each event name (UTC day number → count), for "in the last N days": names
   * of `events` only, days within the retention, and the oldest days trimmed past the profile's
   * byte budget.
   */
  daily: Record<string, Record<string, number>>;
  orders: number;
  /** Revenue of completed orders minus refunds. */
  revenue: number;
  refunds: number;
  firstOrderAt: number | null;
  lastOrderAt: number | null;
  /** The last touch as it was at the first order: the rollups count the customer by it. */
  firstOrderTouch: Touch | null;
  firstTouch: Touch | null;
  /** The latest session that came from somewhere (direct and internal visits do not replace it). */
  lastTouch: Touch | null;
  /** Every search keyword seen, newest last. */
  keywords: string[];
  devices: string[];
  browsers: string[];
  oses: string[];
  lastPage: { url: string | null; path: string | null; title: string | null; at: number } | null;
  /** Paths of the pages seen, oldest first, bounded. */
  pages: string[];
  session: SessionState | null;
  /**
   * Impressions of each offer per day (offer id → UTC day number → count), for frequency caps: the
   * `MAX_OFFER_VIEWS` most recently viewed offers.
   */
  offerViews: Record<string, Record<string, number>>;
  /**
   * Offers an automation gave the person (offer id → until, ms): their slot shows them before
   * any other until then, whatever the offer's segment. Set only by the server's own trusted
   * `Offer Granted` events; absent on profiles that never had one.
   */
  grants?: Record<string, number>;
  /**
   * The email address as last set by a message that was vouched for (the site secret, or a
   * verified user id): automations write only to it, so that no visitor can make the shop mail
   * an address they typed in. Absent until such a message sets one.
   */
  vouchedEmail?: string;
  /**
   * The identity guardrails' counters (see `identity/working-set.ts`): anonymous ids that came to
   * the profile, merges into it, and the times of its latest merges. Absent on profiles made
   * before they were kept, which count from 0.
   */
  /**
   * The person's consent per purpose (`marketing`, `analytics`, ...), as their latest `Consent
   * Updated` event for it said, with its time and how far its sender was vouched for. Absent until
   * one comes.
   */
  consent?: Record<string, ConsentRecord>;
  anonymousIds?: number;
  merges?: number;
  mergeTimes?: number[];
  /** What the per-profile caps left out, since the profile began (see `Dropped`). */
  dropped: Dropped;
  /** The id the profile was first known by: control-group buckets hash it, so they stay stable. */
  firstId: string | null;
  /**
   * Every day with an event, ascending, as day numbers in the site's time zone (see
   * reports/days.ts): the rollups count visitors by them. At most one per day since 2000.
   */
  activeDays: number[];
}

/**
 * Counts of what the caps of a profile (computed.ts) removed or refused: event names dropped as
 * the rarest, day buckets trimmed for the byte budget, traits refused (past the count, the size of
 * a value, or the traits' bytes), offers dropped as the least recently viewed. A name dropped,
 * seen again and dropped again counts twice.
 */
export interface Dropped {
  events: number;
  days: number;
  traits: number;
  offerViews: number;
}

export interface ProfileRecord {
  id: string;
  siteId: string;
  userId: string | null;
  email: string | null;
  traits: JsonObject;
  /** When each trait was last set: merges keep the newest value of each. */
  traitTimes: Record<string, number>;
  computed: Computed;
  mergedInto: string | null;
  createdAt: number;
  updatedAt: number;
}

/**
 * What a segment's rule reads of a stored profile (segments/subject.ts): all that a report split
 * by segment loads of each person, so that it parses no more JSON than the rule can read.
 */
export type RuleProfile = Pick<ProfileRecord, 'id' | 'userId' | 'traits' | 'computed'>;

export function emptyComputed(): Computed {
  return {
    firstSeen: null,
    lastSeen: null,
    sessions: 0,
    pageviews: 0,
    eventCount: 0,
    events: {},
    daily: {},
    orders: 0,
    revenue: 0,
    refunds: 0,
    firstOrderAt: null,
    lastOrderAt: null,
    firstOrderTouch: null,
    firstTouch: null,
    lastTouch: null,
    keywords: [],
    devices: [],
    browsers: [],
    oses: [],
    lastPage: null,
    pages: [],
    session: null,
    offerViews: {},
    dropped: { events: 0, days: 0, traits: 0, offerViews: 0 },
    firstId: null,
    activeDays: [],
  };
}
