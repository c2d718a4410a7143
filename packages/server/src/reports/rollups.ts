import { ORDER_COMPLETED, orderAmount } from '../profiles/computed.js';
import type { ProfileRecord } from '../profiles/types.js';
import type { IngestEvent, Referral, StoredEvent, TouchKey } from '../store/types.js';
import { dayIn } from './days.js';

/**
 * Rollups: per site and local day, what the console and the reports read instead of scanning
 * events. They are kept at ingest, in the transaction that writes the events, by `RollupCounter`,
 * and recomputed by `rapport rollups rebuild`. The rules (docs/reports.md says them to users):
 *
 * Counted per event, as it is stored (merges and erasure leave these as they are):
 * - `events`: every stored event, on the day of its timestamp;
 * - `sessions`: each session on the day of its first event, keyed (touch `session`) by that
 *   event's referral;
 * - `orders` and `revenue` (cents): each Order Completed, keyed by the buyer's first touch
 *   (touch `first`) and last touch (touch `last`) as they were when the order was stored; the
 *   event keeps them (`enrichment.attribution`), so a rebuild finds the same.
 *
 * Counted per person, from what their profile says now (a merge or an earlier event arriving late
 * moves them; the pipeline applies the difference between a profile before and after each call):
 * - `visitors`: on each day the person had an event (`computed.activeDays`);
 * - `newVisitors`: on the day of their first event, keyed by their first touch;
 * - `customers`: on the day of their first order, keyed by their first touch and by their last
 *   touch at that order (`computed.firstOrderTouch`).
 * Two people merged into one count once from then on, on the earlier of their first days. An
 * erased person's figures stay, identifying no one; a rebuild, which reads what is stored, no
 * longer counts them.
 */

/** Which touch a row of `rollup_touches` counts by. */
export type TouchKind = 'session' | 'first' | 'last';

/** Per-day totals of a site. */
export interface DayCounts {
  events: number;
  visitors: number;
  newVisitors: number;
  sessions: number;
  orders: number;
  /** In cents, so that sums stay exact. */
  revenue: number;
  customers: number;
}

/** Per-day figures of a site by touch. */
export interface TouchCounts {
  visitors: number;
  sessions: number;
  customers: number;
  orders: number;
  revenue: number;
}

/** Increments of one ingest call, one entry per row, in key order (see `RollupCounter.writes`). */
export interface RollupWrites {
  days: Array<{ day: number } & DayCounts>;
  touches: Array<{ day: number; touch: TouchKind } & TouchKey & TouchCounts>;
}

export const NO_TOUCH: TouchKey = { medium: '(none)', source: '', campaign: '', term: '' };

const emptyDay = (): DayCounts => ({ events: 0, visitors: 0, newVisitors: 0, sessions: 0, orders: 0, revenue: 0, customers: 0 });
const emptyTouch = (): TouchCounts => ({ visitors: 0, sessions: 0, customers: 0, orders: 0, revenue: 0 });

/** The key of a referral or touch; search keywords lower-cased as the profile keeps them. */
export function touchKeyOf(touch: Pick<Referral, 'medium' | 'source' | 'campaign' | 'term'> | null | undefined): TouchKey {
  if (!touch) return NO_TOUCH;
  return { medium: touch.medium, source: touch.source ?? '', campaign: touch.campaign ?? '', term: touch.term?.toLowerCase() ?? '' };
}

/** An order's amount in cents. */
export const cents = (amount: number) => Math.round(amount * 100);

/** What a person counts for (see the rules above), from their profile as it is. */
export interface PersonFacts {
  activeDays: number[];
  firstDay: number | null;
  firstTouch: TouchKey;
  firstOrderDay: number | null;
  firstOrderTouch: TouchKey;
}

/** A tombstone (merged away) or an empty profile counts for nothing. */
export function personFacts(profile: ProfileRecord, timeZone: string): PersonFacts {
  const c = profile.computed;
  const live = profile.mergedInto === null;
  return {
    activeDays: live ? [...(c.activeDays ?? [])] : [],
    firstDay: live && c.firstSeen !== null ? dayIn(c.firstSeen, timeZone) : null,
    firstTouch: touchKeyOf(c.firstTouch),
    firstOrderDay: live && c.firstOrderAt !== null ? dayIn(c.firstOrderAt, timeZone) : null,
    firstOrderTouch: touchKeyOf(c.firstOrderTouch ?? c.lastTouch),
  };
}

/**
 * Adds up the rollup increments of one ingest call.
 *
 * @example
 * const counter = new RollupCounter('Europe/Berlin');
 * const before = personFacts(profile, 'Europe/Berlin');
 * counter.event(event, profile, startedSession);
 * counter.person(before, personFacts(profile, 'Europe/Berlin'));
 * counter.writes(); // { days: [...], touches: [...] }
 */
export class RollupCounter {
  private readonly days = new Map<number, DayCounts>();
  private readonly touches = new Map<string, { day: number; touch: TouchKind; key: TouchKey; counts: TouchCounts }>();

  constructor(readonly timeZone: string) {}

  private day(day: number): DayCounts {
    let d = this.days.get(day);
    if (!d) this.days.set(day, (d = emptyDay()));
    return d;
  }

  private touch(day: number, touch: TouchKind, key: TouchKey): TouchCounts {
    const id = JSON.stringify([day, touch, key.medium, key.source, key.campaign, key.term]);
    let t = this.touches.get(id);
    if (!t) this.touches.set(id, (t = { day, touch, key, counts: emptyTouch() }));
    return t.counts;
  }

  /**
   * One stored event, after the profile took it in: `startedSession` when it opened a session.
   * Returns the event as it should be stored: an order gains the touches it was attributed to.
   */
  event(event: IngestEvent, profile: ProfileRecord, startedSession: boolean): IngestEvent {
    const day = dayIn(event.timestamp, this.timeZone);
    this.countEvent(day, startedSession ? touchKeyOf(event.enrichment.referral) : null);
    if (event.type !== 'track' || event.name !== ORDER_COMPLETED) return event;
    const attribution = { first: touchKeyOf(profile.computed.firstTouch), last: touchKeyOf(profile.computed.lastTouch) };
    this.order(day, attribution, cents(orderAmount(event.properties)));
    return { ...event, enrichment: { ...event.enrichment, attribution } };
  }

  /** An event on `day`; `session`: the key of the session it opened, if it opened one. With -1, taken away. */
  countEvent(day: number, session: TouchKey | null, sign: 1 | -1 = 1): void {
    const d = this.day(day);
    d.events += sign;
    if (session) {
      d.sessions += sign;
      this.touch(day, 'session', session).sessions += sign;
    }
  }

  /** An order on `day` attributed to `first` and `last`, of `amount` cents. With -1, taken away. */
  order(day: number, attribution: { first: TouchKey; last: TouchKey }, amount: number, sign: 1 | -1 = 1): void {
    const d = this.day(day);
    d.orders += sign;
    d.revenue += sign * amount;
    for (const [kind, key] of [['first', attribution.first], ['last', attribution.last]] as const) {
      const t = this.touch(day, kind, key);
      t.orders += sign;
      t.revenue += sign * amount;
    }
  }

  /**
   * Counts the stored events of one person (oldest first) by the per-event rules: what ingest
   * counted for them. With -1, takes it away (an erasure).
   */
  countEvents(profile: ProfileRecord, events: StoredEvent[], sign: 1 | -1 = 1): void {
    const sessions = new Set<string>();
    for (const e of events) {
      const day = dayIn(Date.parse(e.timestamp), this.timeZone);
      // A session counts on its first stored event, whose referral it is keyed by.
      const started = e.sessionId !== null && !sessions.has(e.sessionId);
      if (e.sessionId !== null) sessions.add(e.sessionId);
      this.countEvent(day, started ? touchKeyOf(e.enrichment.referral) : null, sign);
      if (e.type === 'track' && e.event === ORDER_COMPLETED) {
        // Orders stored before rollups existed carry no attribution: the buyer's touches stand in.
        const attribution = e.enrichment.attribution ?? {
          first: touchKeyOf(profile.computed.firstTouch),
          last: touchKeyOf(profile.computed.lastTouch),
        };
        this.order(day, attribution, cents(orderAmount(e.properties)), sign);
      }
    }
  }

  /** A person's figures went from `before` (null: a new person) to `after`. */
  person(before: PersonFacts | null, after: PersonFacts): void {
    if (before) this.countPerson(before, -1);
    this.countPerson(after, 1);
  }

  /** Adds (or, with -1, takes away) what one person counts for. */
  countPerson(facts: PersonFacts, sign: 1 | -1): void {
    for (const day of facts.activeDays) this.day(day).visitors += sign;
    if (facts.firstDay !== null) {
      this.day(facts.firstDay).newVisitors += sign;
      this.touch(facts.firstDay, 'first', facts.firstTouch).visitors += sign;
    }
    if (facts.firstOrderDay !== null) {
      this.day(facts.firstOrderDay).customers += sign;
      this.touch(facts.firstOrderDay, 'first', facts.firstTouch).customers += sign;
      this.touch(facts.firstOrderDay, 'last', facts.firstOrderTouch).customers += sign;
    }
  }

  /** Adds the increments of another call (a store that writes several calls in one transaction sums them). */
  add(writes: RollupWrites): void {
    for (const { day, ...counts } of writes.days) {
      const d = this.day(day);
      for (const k of Object.keys(counts) as Array<keyof DayCounts>) d[k] += counts[k];
    }
    for (const t of writes.touches) {
      const counts = this.touch(t.day, t.touch, { medium: t.medium, source: t.source, campaign: t.campaign, term: t.term });
      for (const k of Object.keys(counts) as Array<keyof TouchCounts>) counts[k] += t[k];
    }
  }

  /** The rows that change, in key order (a store shared by nodes locks them in that order). */
  writes(): RollupWrites {
    const days = [...this.days]
      .filter(([, c]) => Object.values(c).some((v) => v !== 0))
      .sort(([a], [b]) => a - b)
      .map(([day, c]) => ({ day, ...c }));
    const touches = [...this.touches]
      .filter(([, t]) => Object.values(t.counts).some((v) => v !== 0))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, t]) => ({ day: t.day, touch: t.touch, ...t.key, ...t.counts }));
    return { days, touches };
  }
}

/**
 * What an erasure takes out of the rollups: everything the person and their events counted
 * for (their profile as stored, their events oldest first), so that no row is left that only
 * they made.
 *
 * @example
 * await store.deleteProfile(site.id, id, (profile, events) => uncountPerson(profile, events, site.settings.timeZone));
 */
export function uncountPerson(profile: ProfileRecord, events: StoredEvent[], timeZone: string): RollupWrites {
  const counter = new RollupCounter(timeZone);
  counter.countEvents(profile, events, -1);
  counter.countPerson(personFacts(profile, timeZone), -1);
  return counter.writes();
}
