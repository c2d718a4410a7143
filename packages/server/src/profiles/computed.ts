import { MAX_AMOUNT, SESSION_TIMEOUT_MS, SLOT_EVENTS, type JsonObject } from '@rapport/protocol';
import { CONSENT_UPDATED, keepSuppression, mayChangeUntrusted, mergeConsent, recordConsent } from './consent.js';
import { campaignKey } from '../enrich/referral.js';
import { dayIn, UTC } from '../reports/days.js';
import type { IngestEvent, Referral } from '../store/types.js';
import { emptyComputed, type Computed, type ProfileRecord, type Touch } from './types.js';

const DAY_MS = 86_400_000;
/** Per-day counts older than this are dropped: rules ask "in the last N days" up to a year. */
export const DAILY_RETENTION_DAYS = 400;
const MAX_KEYWORDS = 50;
const MAX_PAGES = 500;
const MAX_DEVICE_VALUES = 20;

// Caps of a profile. Anyone with the public write key can grow the profile of their own anonymous
// id, and a decision reads that whole profile: what one profile holds must stay bounded however
// many events arrive. The caps are the server's, not the wire's: nothing is refused at collect.

/**
 * Distinct `track` event names counted per profile (`events`, `daily`). Past it plus a quarter,
 * the names are pruned back to it in one pass, keeping the most frequent (ties: the most recently
 * seen), so a flood of one-off names costs a sort of 625 names every 125 new ones, not one per event.
 */
export const MAX_EVENT_NAMES = 500;
/** Offers whose impressions are counted per profile (`offerViews`): the most recently viewed stay, pruned like event names. */
export const MAX_OFFER_VIEWS = 200;
/** Trait keys per profile. Past it, new keys are refused (the event itself is stored); known keys still update. */
export const MAX_TRAITS = 200;
/** Largest trait value, as JSON bytes; a larger value is refused and the profile keeps the one it had. */
export const MAX_TRAIT_VALUE_BYTES = 4096;
/** Largest `traits` object, as JSON bytes: a new key or a larger value past it is refused. */
export const MAX_TRAITS_BYTES = 32 * 1024;
/**
 * Byte budget of a profile: its traits, trait times and computed attributes as JSON, what the
 * store writes and a decision reads. Checked at ingest after every event and merge; past it the
 * profile is trimmed to three quarters of it, in this order, until it fits:
 *
 * 1. per-day counts of events older than `RECENT_DAYS`, oldest first (all-time counts stay);
 * 2. the rarest event names, with their per-day counts;
 * 3. the offers viewed least recently;
 * 4. the oldest pages seen, then the oldest keywords;
 * 5. only for a profile written before the trait caps: the traits set longest ago, down to the caps.
 *
 * Traits are otherwise never trimmed: their own caps keep them within a small part of the budget,
 * as the bounded fields that are replaced rather than accumulated (last page, touches, session) are.
 */
export const MAX_PROFILE_BYTES = 256 * 1024;
const TRIMMED_PROFILE_BYTES = (MAX_PROFILE_BYTES * 3) / 4;
/**
 * What fields set once may add to a profile uncounted by the running estimate (first seen, first
 * order, first id, the digits of revenue): the budget is checked this much early, so that the
 * profile as written stays within it.
 */
const SET_ONCE_BYTES = 1024;
const CHECK_AT_BYTES = MAX_PROFILE_BYTES - SET_ONCE_BYTES;
/** Per-day counts of the last days, which "in the last N days" rules read most, go only after names. */
const RECENT_DAYS = 30;
/**
 * Bytes an event may add to its profile's JSON that the running estimate does not count: the
 * counters it increments gaining a digit (a handful of them, one byte each at most).
 */
const COUNTER_DIGITS_BYTES = 8;
/**
 * Largest revenue or refund total: a thousand orders of `MAX_AMOUNT`. Sums saturate there rather
 * than overflow to Infinity, which JSON would store as null.
 */
export const MAX_TOTAL = MAX_AMOUNT * 1000;

/** Events of the Segment e-commerce spec that move orders and revenue (amounts: see `orderAmount`). */
export const ORDER_COMPLETED = 'Order Completed';
/** The server's own event of an automation's offer step: `{ offer_id, until }`, heeded only when trusted. */
export const OFFER_GRANTED = 'Offer Granted';
/** The latest merges whose times a profile keeps, to tell one that merges unusually fast. */
export const MERGE_TIMES_KEPT = 20;
/** Grants a profile keeps at once; past it, the ones that end first go. */
export const MAX_GRANTS = 20;
export const ORDER_REFUNDED = 'Order Refunded';
/** Properties that hold an order's amount, in the order they are read; collect bounds them by `MAX_AMOUNT`. */
export const ORDER_AMOUNT_FIELDS = ['revenue', 'total'] as const;

export const dayNumber = (ms: number) => Math.floor(ms / DAY_MS);

/**
 * Folds one event into a profile's computed attributes and traits, in place, and returns the
 * session id the event belongs to. Called at ingest for every stored event, so that a decision
 * reads one row, not an event history.
 */
export function applyEvent(profile: ProfileRecord, event: IngestEvent, newId: () => string, timeZone = UTC): string {
  const ledger = ledgerOf(profile);
  const c = profile.computed;
  const before = { lastPage: c.lastPage, firstTouch: c.firstTouch, lastTouch: c.lastTouch, session: c.session, firstOrderTouch: c.firstOrderTouch };
  let grown = COUNTER_DIGITS_BYTES;
  const ts = event.timestamp;
  c.eventCount++;
  if (c.firstSeen === null || ts < c.firstSeen) c.firstSeen = ts;
  const isNewest = c.lastSeen === null || ts >= c.lastSeen;
  if (isNewest) c.lastSeen = ts;
  grown += markActiveDay(c, dayIn(ts, timeZone));

  const sessionId = trackSession(c, event, newId);
  const referral = event.enrichment.referral;
  if (referral?.term) grown += addKeyword(c, referral.term);
  // The SDK remembers the first visit even when its page view never reached us (consent given
  // later, a blocked request): an earlier first touch from it wins.
  const remembered = event.enrichment.firstTouch;
  if (remembered && (!c.firstTouch || remembered.at < c.firstTouch.at)) {
    c.firstTouch = touchOf(remembered, remembered.at);
    if (remembered.term) grown += addKeyword(c, remembered.term);
  }

  const device = event.enrichment.device;
  if (device) {
    grown += addBounded(c.devices, device.type, MAX_DEVICE_VALUES);
    if (device.browser) grown += addBounded(c.browsers, device.browser, MAX_DEVICE_VALUES);
    if (device.os) grown += addBounded(c.oses, device.os, MAX_DEVICE_VALUES);
  }

  if (event.type === 'page' || event.type === 'screen') {
    c.pageviews++;
    const page = event.enrichment.page;
    if (page) {
      if (isNewest) c.lastPage = { url: page.url, path: page.path, title: page.title, at: ts };
      if (page.path) grown += addBounded(c.pages, page.path, MAX_PAGES);
    }
  } else if (event.type === 'track' && event.name) {
    grown += countEvent(c, ledger, event.name, ts);
    const offerId = offerIdOf(event);
    if (event.name === SLOT_EVENTS.impression && offerId) grown += countOfferView(c, ledger, offerId, ts);
    if (event.name === OFFER_GRANTED && event.trust === 'trusted') grantOffer(c, event.properties, ts);
    if (event.name === CONSENT_UPDATED) recordConsent(c, event.properties, ts, event.trust);
    if (event.name === ORDER_COMPLETED) {
      c.orders++;
      c.revenue = addAmount(c.revenue, orderAmount(event.properties));
      if (c.firstOrderAt === null || ts < c.firstOrderAt) {
        c.firstOrderAt = ts;
        c.firstOrderTouch = c.lastTouch;
      }
      if (c.lastOrderAt === null || ts > c.lastOrderAt) c.lastOrderAt = ts;
    } else if (event.name === ORDER_REFUNDED) {
      const amount = orderAmount(event.properties);
      c.refunds = addAmount(c.refunds, amount);
      c.revenue = addAmount(c.revenue, -amount);
    }
  }

  if ((event.type === 'identify' || event.type === 'alias') && event.traits) {
    setTraits(profile, event.traits, ts, event.trust !== 'untrusted');
  }
  // Fields replaced rather than grown are measured only when they change.
  for (const key of ['lastPage', 'firstTouch', 'lastTouch', 'session', 'firstOrderTouch'] as const) {
    if (c[key] !== before[key]) grown += jsonBytes(c[key]) - jsonBytes(before[key]);
  }
  ledger.bytes += grown;
  if (ledger.bytes > CHECK_AT_BYTES) enforceBudget(profile);
  return sessionId;
}

/**
 * Adds a day to the sorted `activeDays` (profiles written before it existed start empty);
 * returns the bytes it adds to the profile.
 */
function markActiveDay(c: Computed, day: number): number {
  const days = (c.activeDays ??= []);
  // Events mostly arrive in order: the newest day is the last one.
  const last = days.length ? days[days.length - 1] : -Infinity;
  if (day === last) return 0;
  if (day > last) days.push(day);
  else {
    const at = sortedIndex(days, day);
    if (days[at] === day) return 0;
    days.splice(at, 0, day);
  }
  return String(day).length + 1;
}

/** Where `value` is or would go in the ascending `list`. */
function sortedIndex(list: number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A new session after 30 minutes without an event, or when a new campaign arrives. */
function trackSession(c: Computed, event: IngestEvent, newId: () => string): string {
  const ts = event.timestamp;
  const referral = event.enrichment.referral;
  const campaign = event.enrichment.campaign ? campaignKey(event.enrichment.campaign) : null;
  const s = c.session;
  if (s && ts >= s.start - SESSION_TIMEOUT_MS && ts - s.last <= SESSION_TIMEOUT_MS) {
    if (!campaign || campaign === s.campaign) {
      if (ts > s.last) s.last = ts;
      if (ts < s.start) s.start = ts;
      return s.id;
    }
  }
  const id = newId();
  c.sessions++;
  // An event much older than the current session (an offline queue arriving late) is a session
  // of its own, but does not replace the one in progress.
  if (!s || ts > s.last) c.session = { id, start: ts, last: ts, campaign };
  if (referral && referral.medium !== 'internal') {
    const touch = touchOf(referral, ts);
    if (!c.firstTouch || ts < c.firstTouch.at) c.firstTouch = touch;
    if (touch.medium !== 'direct' && (!c.lastTouch || ts >= c.lastTouch.at)) c.lastTouch = touch;
  }
  return id;
}

function touchOf(r: Referral, at: number): Touch {
  return {
    medium: r.medium,
    source: r.source,
    term: r.term,
    campaign: r.campaign,
    referrer: r.referrer,
    landingPage: r.landingPage,
    at,
  };
}

/** Counts an event name, all time and per day; returns the bytes this adds to the profile. */
function countEvent(c: Computed, ledger: Ledger, name: string, ts: number): number {
  let grown = 0;
  const known = c.events[name];
  if (known === undefined) {
    c.events[name] = 1;
    // `"name":1,` in events and `"name":{},` in daily.
    grown += 2 * jsonBytes(name) + 7;
    if (++ledger.eventNames > MAX_EVENT_NAMES + MAX_EVENT_NAMES / 4) {
      grown -= pruneEvents(c, MAX_EVENT_NAMES);
      ledger.eventNames = MAX_EVENT_NAMES;
      // The name just counted may have been pruned with the rarest.
      if (c.events[name] === undefined) return grown;
    }
  } else {
    c.events[name] = known + 1;
  }
  return grown + countDay((c.daily[name] ??= {}), ts);
}

/** Adds one to a per-day count (day number → count); returns the bytes this adds. */
function countDay(days: Record<string, number>, ts: number): number {
  const day = dayNumber(ts);
  if (days[day] !== undefined) {
    days[day]++;
    return 0;
  }
  days[day] = 1;
  // Only a new day grows the map, so only then are days past retention dropped.
  const oldest = dayNumber(Date.now()) - DAILY_RETENTION_DAYS;
  for (const key in days) if (Number(key) < oldest) delete days[key];
  return bucketBytes(day, 1);
}

function countOfferView(c: Computed, ledger: Ledger, offerId: string, ts: number): number {
  let grown = 0;
  if (c.offerViews[offerId] === undefined) {
    c.offerViews[offerId] = {};
    grown += jsonBytes(offerId) + 4;
    if (++ledger.offers > MAX_OFFER_VIEWS + MAX_OFFER_VIEWS / 4) {
      grown -= pruneOffers(c, MAX_OFFER_VIEWS);
      ledger.offers = MAX_OFFER_VIEWS;
      if (c.offerViews[offerId] === undefined) return grown;
    }
  }
  return grown + countDay(c.offerViews[offerId], ts);
}

/** The last day (UTC day number) of per-day counts, -Infinity for none. */
function lastDayOf(days: Record<string, number> | undefined): number {
  let last = -Infinity;
  for (const day in days) if (Number(day) > last) last = Number(day);
  return last;
}

/**
 * Keeps the `keep` most frequent event names (ties: the most recently seen, then by name, so the
 * choice is the same on every node) and drops the rest with their per-day counts. Returns the
 * bytes freed, about.
 */
function pruneEvents(c: Computed, keep: number): number {
  const names = Object.keys(c.events);
  if (names.length <= keep) return 0;
  const ranked = names.map((name) => ({ name, count: c.events[name], last: lastDayOf(c.daily[name]) }));
  ranked.sort((a, b) => compare(b.count, a.count) || compare(b.last, a.last) || compare(a.name, b.name));
  let freed = 0;
  for (const { name } of ranked.slice(keep)) freed += dropEvent(c, name);
  return freed;
}

function dropEvent(c: Computed, name: string): number {
  const nameBytes = jsonBytes(name);
  let freed = nameBytes + jsonBytes(c.events[name]) + 2;
  delete c.events[name];
  if (c.daily[name]) {
    freed += nameBytes + jsonBytes(c.daily[name]) + 2;
    delete c.daily[name];
  }
  c.dropped.events++;
  return freed;
}

/** Keeps the `keep` offers viewed most recently (ties: the most viewed); returns the bytes freed, about. */
function pruneOffers(c: Computed, keep: number): number {
  const ids = Object.keys(c.offerViews);
  if (ids.length <= keep) return 0;
  const total = (days: Record<string, number>) => Object.values(days).reduce((n, v) => n + v, 0);
  const ranked = ids.map((id) => ({ id, last: lastDayOf(c.offerViews[id]), views: total(c.offerViews[id]) }));
  ranked.sort((a, b) => compare(b.last, a.last) || compare(b.views, a.views) || compare(a.id, b.id));
  let freed = 0;
  for (const { id } of ranked.slice(keep)) freed += dropOffer(c, id);
  return freed;
}

function dropOffer(c: Computed, id: string): number {
  const freed = jsonBytes(id) + jsonBytes(c.offerViews[id]) + 2;
  delete c.offerViews[id];
  c.dropped.offerViews++;
  return freed;
}

/** Ascending order of numbers (-Infinity included, which subtraction would turn into NaN) or strings. */
const compare = <T extends number | string>(a: T, b: T) => (a < b ? -1 : a > b ? 1 : 0);

/** `"day":count,` */
const bucketBytes = (day: number | string, count: number) => jsonBytes(String(day)) + jsonBytes(count) + 2;

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '');

/**
 * What applying events needs to know of a profile without measuring it each time: its JSON bytes
 * (measured when first seen, then grown by an estimate that never falls short) and the sizes of
 * its capped maps. Kept per profile object for as long as the object lives (one ingest call);
 * replacing a part of the profile (a merge) makes it measure again.
 */
interface Ledger {
  computed: Computed;
  traits: JsonObject;
  traitTimes: Record<string, number>;
  bytes: number;
  traitBytes: number;
  traitCount: number;
  eventNames: number;
  offers: number;
}

const ledgers = new WeakMap<ProfileRecord, Ledger>();

function ledgerOf(p: ProfileRecord): Ledger {
  const known = ledgers.get(p);
  if (known && known.computed === p.computed && known.traits === p.traits && known.traitTimes === p.traitTimes) return known;
  const traitBytes = jsonBytes(p.traits);
  const ledger: Ledger = {
    computed: p.computed,
    traits: p.traits,
    traitTimes: p.traitTimes,
    bytes: traitBytes + jsonBytes(p.traitTimes) + jsonBytes(p.computed),
    traitBytes,
    traitCount: Object.keys(p.traits).length,
    eventNames: Object.keys(p.computed.events).length,
    offers: Object.keys(p.computed.offerViews).length,
  };
  ledgers.set(p, ledger);
  return ledger;
}

/** JSON bytes of a profile as the store writes it (traits, trait times, computed attributes). */
export function profileBytes(p: ProfileRecord): number {
  return jsonBytes(p.traits) + jsonBytes(p.traitTimes) + jsonBytes(p.computed);
}

/**
 * Measures the profile and, past `MAX_PROFILE_BYTES`, trims it to three quarters of the budget in
 * the documented order (see `MAX_PROFILE_BYTES`). Trimming to well under the budget means the
 * measuring, a pass over the profile, comes back only after a quarter of the budget has grown.
 */
function enforceBudget(p: ProfileRecord) {
  ledgers.delete(p);
  const bytes = ledgerOf(p).bytes;
  if (bytes <= CHECK_AT_BYTES) return;
  const c = p.computed;
  let excess = bytes - TRIMMED_PROFILE_BYTES;
  excess -= trimDays(c, excess, dayNumber(Date.now()) - RECENT_DAYS);
  if (excess > 0) excess -= trimRareEvents(c, excess);
  if (excess > 0) excess -= trimOffers(c, excess);
  if (excess > 0) excess -= trimList(c.pages, excess);
  if (excess > 0) excess -= trimList(c.keywords, excess);
  // Only a profile written before the trait caps can still be over: it is brought within them.
  if (excess > 0) trimTraits(p);
  ledgers.delete(p);
  ledgerOf(p);
}

/** Removes the traits set longest ago until the traits are within `MAX_TRAITS` and `MAX_TRAITS_BYTES`. */
function trimTraits(p: ProfileRecord) {
  const keys = Object.keys(p.traits).sort((a, b) => compare(p.traitTimes[a] ?? 0, p.traitTimes[b] ?? 0));
  let count = keys.length;
  let bytes = jsonBytes(p.traits);
  for (const key of keys) {
    if (count <= MAX_TRAITS && bytes <= MAX_TRAITS_BYTES) break;
    bytes -= jsonBytes(key) + jsonBytes(p.traits[key]) + 2;
    delete p.traits[key];
    delete p.traitTimes[key];
    if (key === 'email') p.email = null;
    count--;
    p.computed.dropped.traits++;
  }
}

/** Drops per-day event counts older than `before`, oldest first, until `need` bytes are freed. */
function trimDays(c: Computed, need: number, before: number): number {
  const buckets: Array<{ name: string; day: number }> = [];
  for (const name in c.daily) for (const day in c.daily[name]) if (Number(day) < before) buckets.push({ name, day: Number(day) });
  buckets.sort((a, b) => a.day - b.day);
  let freed = 0;
  for (const { name, day } of buckets) {
    if (freed >= need) break;
    const days = c.daily[name];
    freed += bucketBytes(day, days[day]);
    delete days[day];
    c.dropped.days++;
    // An empty map reads as no count, like a missing one: a rule's answer stays the same.
    if (Object.keys(days).length === 0) {
      freed += jsonBytes(name) + 4;
      delete c.daily[name];
    }
  }
  return freed;
}

function trimRareEvents(c: Computed, need: number): number {
  const ranked = Object.keys(c.events).map((name) => ({ name, count: c.events[name], last: lastDayOf(c.daily[name]) }));
  ranked.sort((a, b) => compare(a.count, b.count) || compare(a.last, b.last) || compare(b.name, a.name));
  let freed = 0;
  for (const { name } of ranked) {
    if (freed >= need) break;
    freed += dropEvent(c, name);
  }
  return freed;
}

function trimOffers(c: Computed, need: number): number {
  const ranked = Object.keys(c.offerViews).map((id) => ({ id, last: lastDayOf(c.offerViews[id]) }));
  ranked.sort((a, b) => compare(a.last, b.last) || compare(b.id, a.id));
  let freed = 0;
  for (const { id } of ranked) {
    if (freed >= need) break;
    freed += dropOffer(c, id);
  }
  return freed;
}

/** Drops the oldest entries of a list kept oldest first. */
function trimList(list: string[], need: number): number {
  let freed = 0;
  let n = 0;
  while (n < list.length && freed < need) freed += jsonBytes(list[n++]) + 1;
  list.splice(0, n);
  return freed;
}

/** The offer a slot event of the SDK is about (`properties.offerId`). */
export function offerIdOf(event: Pick<IngestEvent, 'properties'>): string | null {
  const id = event.properties?.offerId;
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : null;
}

/**
 * Amount of an order per the Segment e-commerce spec: `revenue`, else `total`; else 0. An amount
 * past `MAX_AMOUNT` counts as none: collect refuses it, and an event that did not pass through
 * collect must not break a total either.
 */
export function orderAmount(properties: Record<string, unknown> | null): number {
  if (!properties) return 0;
  for (const key of ORDER_AMOUNT_FIELDS) {
    const value = properties[key];
    const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
    if (Number.isFinite(n) && Math.abs(n) <= MAX_AMOUNT) return n;
  }
  return 0;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * `total + amount` to the cent, saturating at ±`MAX_TOTAL`. A total that is not a finite number
 * (null: how JSON stored an overflow before amounts were bounded) counts as saturated, so that the
 * next order never resets it to that order's amount.
 */
export function addAmount(total: number, amount: number): number {
  const sum = saturated(total) + saturated(amount);
  return round2(Math.min(MAX_TOTAL, Math.max(-MAX_TOTAL, sum)));
}

const saturated = (n: number) => (Number.isFinite(n) ? n : n === -Infinity ? -MAX_TOTAL : MAX_TOTAL);

/** Adds a search keyword (newest last, case-insensitively once); returns the bytes this adds. */
function addKeyword(c: Computed, term: string): number {
  const lower = term.toLowerCase();
  const at = c.keywords.findIndex((k) => k.toLowerCase() === lower);
  if (at >= 0) c.keywords.splice(at, 1);
  c.keywords.push(term);
  if (c.keywords.length > MAX_KEYWORDS) c.keywords.shift();
  return at >= 0 ? 0 : jsonBytes(term) + 1;
}

/** Adds a value to a bounded list (oldest dropped); returns the bytes this adds, about. */
function addBounded(list: string[], value: string, max: number): number {
  if (list.includes(value)) return 0;
  list.push(value);
  if (list.length > max) list.shift();
  return jsonBytes(value) + 1;
}

/**
 * The email of an `email` trait as profiles store and match it: trimmed, lower case, with an `@`,
 * within the 320 characters an address can have; anything else is no email.
 */
export function cleanEmail(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const email = value.trim().toLowerCase();
  return email.includes('@') && email.length <= 320 ? email : null;
}

/** An offer given until a time; a later grant of the same offer extends it, never shortens it. */
function grantOffer(c: Computed, properties: Record<string, unknown> | null, ts: number) {
  const offerId = properties?.offer_id;
  const until = properties?.until;
  if (typeof offerId !== 'string' || offerId.length > 100 || typeof until !== 'number' || !Number.isFinite(until)) return;
  const grants = (c.grants ??= {});
  grants[offerId] = Math.max(until, grants[offerId] ?? 0);
  pruneGrants(grants, ts);
}

/** Drops the grants over by `now`, then the ones that end first past `MAX_GRANTS`. */
function pruneGrants(grants: Record<string, number>, now: number) {
  for (const [id, until] of Object.entries(grants)) if (until <= now) delete grants[id];
  const ids = Object.keys(grants);
  if (ids.length <= MAX_GRANTS) return;
  ids.sort((x, y) => grants[x] - grants[y]);
  for (const id of ids.slice(0, ids.length - MAX_GRANTS)) delete grants[id];
}

/**
 * Sets traits whose value is newer than what the profile holds (traits: newest wins), within the
 * caps: a value over `MAX_TRAIT_VALUE_BYTES`, a new key past `MAX_TRAITS`, or a change that takes
 * the traits past `MAX_TRAITS_BYTES` is refused and counted in `computed.dropped.traits`; the
 * profile keeps what it had. A message not vouched for (`trusted` false: an unverified browser
 * message) cannot take back a person's unsubscribe, opt-out or withdrawn consent (see
 * `profiles/consent.ts`).
 */
export function setTraits(profile: ProfileRecord, traits: Record<string, unknown>, at: number, trusted = true): void {
  const ledger = ledgerOf(profile);
  for (const key of Object.keys(traits)) {
    const known = profile.traitTimes[key];
    if (known !== undefined && known > at) continue;
    if (!trusted && !mayChangeUntrusted(profile.traits, key, traits[key])) continue;
    const added = placeTrait(profile, ledger, key, traits[key], at);
    if (added === null) continue;
    ledger.bytes += added;
    if (key === 'email') {
      profile.email = cleanEmail(traits[key]);
      if (trusted) {
        if (profile.email) profile.computed.vouchedEmail = profile.email;
        else delete profile.computed.vouchedEmail;
      }
    }
  }
}

/** Sets one trait within the caps; returns the bytes this adds, or null when it was refused. */
function placeTrait(profile: ProfileRecord, ledger: Ledger, key: string, value: unknown, at: number): number | null {
  const valueBytes = jsonBytes(value);
  const exists = Object.hasOwn(profile.traits, key);
  const keyBytes = exists ? 0 : jsonBytes(key);
  // A new key adds `"key":value,` to traits; a known one changes the value's size only.
  const delta = exists ? valueBytes - jsonBytes(profile.traits[key]) : keyBytes + 2 + valueBytes;
  if (
    valueBytes > MAX_TRAIT_VALUE_BYTES ||
    (!exists && ledger.traitCount >= MAX_TRAITS) ||
    (delta > 0 && ledger.traitBytes + delta > MAX_TRAITS_BYTES)
  ) {
    profile.computed.dropped.traits++;
    return null;
  }
  const timeBytes = Object.hasOwn(profile.traitTimes, key) ? 0 : jsonBytes(key) + jsonBytes(at) + 2;
  profile.traits[key] = value as JsonObject[string];
  profile.traitTimes[key] = at;
  ledger.traitBytes += delta;
  if (!exists) ledger.traitCount++;
  return delta + timeBytes;
}

/**
 * Folds the profile `from` into `into` (a merge): counters and sums add up, first-touch data
 * comes from whichever saw the person first, traits keep the newest value of each. The result
 * keeps the caps of a profile by the rules of ingest (the most frequent names, the offers viewed
 * last, traits newest first until their caps refuse, then the byte budget), and adds up what both
 * had dropped.
 */
export function mergeProfiles(into: ProfileRecord, from: ProfileRecord): void {
  const a = into.computed;
  const b = from.computed;
  const merged: Computed = emptyComputed();
  const consent = mergeConsent(a, b);
  if (consent) merged.consent = consent;
  const vouched = a.vouchedEmail ?? b.vouchedEmail;
  if (vouched) merged.vouchedEmail = vouched;
  if (a.anonymousIds || b.anonymousIds) merged.anonymousIds = (a.anonymousIds ?? 0) + (b.anonymousIds ?? 0);
  if (a.merges || b.merges) merged.merges = (a.merges ?? 0) + (b.merges ?? 0);
  if (a.mergeTimes || b.mergeTimes) merged.mergeTimes = [...(a.mergeTimes ?? []), ...(b.mergeTimes ?? [])].sort((x, y) => x - y).slice(-MERGE_TIMES_KEPT);
  if (a.grants || b.grants) {
    merged.grants = { ...a.grants };
    for (const [id, until] of Object.entries(b.grants ?? {})) merged.grants[id] = Math.max(until, merged.grants[id] ?? 0);
    pruneGrants(merged.grants, 0);
  }
  for (const key of ['events', 'days', 'traits', 'offerViews'] as const) merged.dropped[key] = a.dropped[key] + b.dropped[key];
  merged.firstSeen = minOf(a.firstSeen, b.firstSeen);
  merged.lastSeen = maxOf(a.lastSeen, b.lastSeen);
  merged.sessions = a.sessions + b.sessions;
  merged.pageviews = a.pageviews + b.pageviews;
  merged.eventCount = a.eventCount + b.eventCount;
  merged.events = addCounts(a.events, b.events);
  for (const name of new Set([...Object.keys(a.daily), ...Object.keys(b.daily)])) {
    merged.daily[name] = addCounts(a.daily[name] ?? {}, b.daily[name] ?? {});
  }
  // Two capped profiles add up to twice a cap: the merge keeps the cap, by the same rule.
  pruneEvents(merged, MAX_EVENT_NAMES);
  merged.orders = a.orders + b.orders;
  merged.revenue = addAmount(a.revenue, b.revenue);
  merged.refunds = addAmount(a.refunds, b.refunds);
  merged.firstOrderAt = minOf(a.firstOrderAt, b.firstOrderAt);
  merged.firstOrderTouch = b.firstOrderAt !== null && (a.firstOrderAt === null || b.firstOrderAt < a.firstOrderAt) ? b.firstOrderTouch : a.firstOrderTouch;
  merged.activeDays = unionSorted(a.activeDays ?? [], b.activeDays ?? []);
  merged.lastOrderAt = maxOf(a.lastOrderAt, b.lastOrderAt);
  merged.firstTouch = earliest(a.firstTouch, b.firstTouch);
  merged.lastTouch = latest(a.lastTouch, b.lastTouch);
  const byTime = (a.lastSeen ?? 0) >= (b.lastSeen ?? 0) ? [b, a] : [a, b];
  for (const c of byTime) for (const k of c.keywords) addKeyword(merged, k);
  for (const c of byTime) {
    for (const v of c.devices) addBounded(merged.devices, v, MAX_DEVICE_VALUES);
    for (const v of c.browsers) addBounded(merged.browsers, v, MAX_DEVICE_VALUES);
    for (const v of c.oses) addBounded(merged.oses, v, MAX_DEVICE_VALUES);
    for (const v of c.pages) addBounded(merged.pages, v, MAX_PAGES);
  }
  merged.lastPage = latest(a.lastPage, b.lastPage);
  for (const offer of new Set([...Object.keys(a.offerViews), ...Object.keys(b.offerViews)])) {
    merged.offerViews[offer] = addCounts(a.offerViews[offer] ?? {}, b.offerViews[offer] ?? {});
  }
  pruneOffers(merged, MAX_OFFER_VIEWS);
  merged.firstId = a.firstId ?? b.firstId;
  merged.session = !a.session ? b.session : !b.session ? a.session : a.session.last >= b.session.last ? a.session : b.session;
  into.computed = merged;

  // Newest first, so that when the caps refuse some, the ones refused are the oldest.
  const incoming = Object.keys(from.traits).map((key) => ({ key, at: from.traitTimes[key] ?? 0 }));
  incoming.sort((x, y) => y.at - x.at);
  const ledger = ledgerOf(into);
  for (const { key, at } of incoming) {
    const known = into.traitTimes[key];
    if (known === undefined || at > known) placeTrait(into, ledger, key, from.traits[key], at);
  }
  keepSuppression(into, from);
  into.email = typeof into.traits.email === 'string' ? cleanEmail(into.traits.email) : (into.email ?? from.email);
  into.userId ??= from.userId;
  enforceBudget(into);
}

function unionSorted(a: number[], b: number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (out[out.length - 1] !== next) out.push(next);
  }
  return out;
}

function addCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = { ...a };
  for (const key of Object.keys(b)) out[key] = (out[key] ?? 0) + b[key];
  return out;
}

const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
const earliest = <T extends { at: number }>(a: T | null, b: T | null) => (!a ? b : !b ? a : b.at < a.at ? b : a);
const latest = <T extends { at: number }>(a: T | null, b: T | null) => (!a ? b : !b ? a : b.at > a.at ? b : a);
