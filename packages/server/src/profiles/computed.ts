import { SESSION_TIMEOUT_MS, SLOT_EVENTS } from '@rapport/protocol';
import { campaignKey } from '../enrich/referral.js';
import type { IngestEvent, Referral } from '../store/types.js';
import { emptyComputed, type Computed, type ProfileRecord, type Touch } from './types.js';

const DAY_MS = 86_400_000;
/** Per-day counts older than this are dropped: rules ask "in the last N days" up to a year. */
export const DAILY_RETENTION_DAYS = 400;
const MAX_KEYWORDS = 50;
const MAX_PAGES = 500;
const MAX_DEVICE_VALUES = 20;

/** Events of the Segment e-commerce spec that move orders and revenue (amounts: see `orderAmount`). */
export const ORDER_COMPLETED = 'Order Completed';
export const ORDER_REFUNDED = 'Order Refunded';

export const dayNumber = (ms: number) => Math.floor(ms / DAY_MS);

/**
 * Folds one event into a profile's computed attributes and traits, in place, and returns the
 * session id the event belongs to. Called at ingest for every stored event, so that a decision
 * reads one row, not an event history.
 */
export function applyEvent(profile: ProfileRecord, event: IngestEvent, newId: () => string): string {
  const c = profile.computed;
  const ts = event.timestamp;
  c.eventCount++;
  if (c.firstSeen === null || ts < c.firstSeen) c.firstSeen = ts;
  const isNewest = c.lastSeen === null || ts >= c.lastSeen;
  if (isNewest) c.lastSeen = ts;

  const sessionId = trackSession(c, event, newId);
  const referral = event.enrichment.referral;
  if (referral?.term) addKeyword(c, referral.term);
  // The SDK remembers the first visit even when its page view never reached us (consent given
  // later, a blocked request): an earlier first touch from it wins.
  const remembered = event.enrichment.firstTouch;
  if (remembered && (!c.firstTouch || remembered.at < c.firstTouch.at)) {
    c.firstTouch = touchOf(remembered, remembered.at);
    if (remembered.term) addKeyword(c, remembered.term);
  }

  const device = event.enrichment.device;
  if (device) {
    addBounded(c.devices, device.type, MAX_DEVICE_VALUES);
    if (device.browser) addBounded(c.browsers, device.browser, MAX_DEVICE_VALUES);
    if (device.os) addBounded(c.oses, device.os, MAX_DEVICE_VALUES);
  }

  if (event.type === 'page' || event.type === 'screen') {
    c.pageviews++;
    const page = event.enrichment.page;
    if (page) {
      if (isNewest) c.lastPage = { url: page.url, path: page.path, title: page.title, at: ts };
      if (page.path) addBounded(c.pages, page.path, MAX_PAGES);
    }
  } else if (event.type === 'track' && event.name) {
    countEvent(c, event.name, ts);
    const offerId = offerIdOf(event);
    if (event.name === SLOT_EVENTS.impression && offerId) {
      const days = (c.offerViews[offerId] ??= {});
      const day = dayNumber(ts);
      days[day] = (days[day] ?? 0) + 1;
    }
    if (event.name === ORDER_COMPLETED) {
      c.orders++;
      c.revenue = round2(c.revenue + orderAmount(event.properties));
      if (c.firstOrderAt === null || ts < c.firstOrderAt) c.firstOrderAt = ts;
      if (c.lastOrderAt === null || ts > c.lastOrderAt) c.lastOrderAt = ts;
    } else if (event.name === ORDER_REFUNDED) {
      const amount = orderAmount(event.properties);
      c.refunds = round2(c.refunds + amount);
      c.revenue = round2(c.revenue - amount);
    }
  }

  if ((event.type === 'identify' || event.type === 'alias') && event.traits) {
    setTraits(profile, event.traits, ts);
  }
  return sessionId;
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

function countEvent(c: Computed, name: string, ts: number) {
  c.events[name] = (c.events[name] ?? 0) + 1;
  const day = dayNumber(ts);
  const days = (c.daily[name] ??= {});
  if (days[day] !== undefined) {
    days[day]++;
    return;
  }
  days[day] = 1;
  // Only a new day grows the map, so only then are days past retention dropped.
  const oldest = dayNumber(Date.now()) - DAILY_RETENTION_DAYS;
  for (const key in days) if (Number(key) < oldest) delete days[key];
}

/** The offer a slot event of the SDK is about (`properties.offerId`). */
export function offerIdOf(event: IngestEvent): string | null {
  const id = event.properties?.offerId;
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : null;
}

/** Amount of an order per the Segment e-commerce spec: `revenue`, else `total`; else 0. */
export function orderAmount(properties: Record<string, unknown> | null): number {
  if (!properties) return 0;
  for (const key of ['revenue', 'total'] as const) {
    const value = properties[key];
    const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
    if (Number.isFinite(n)) return n;
  }
  return 0;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function addKeyword(c: Computed, term: string) {
  const lower = term.toLowerCase();
  const at = c.keywords.findIndex((k) => k.toLowerCase() === lower);
  if (at >= 0) c.keywords.splice(at, 1);
  c.keywords.push(term);
  if (c.keywords.length > MAX_KEYWORDS) c.keywords.shift();
}

function addBounded(list: string[], value: string, max: number) {
  if (list.includes(value)) return;
  list.push(value);
  if (list.length > max) list.shift();
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

/** Sets traits whose value is newer than what the profile holds (traits: newest wins). */
export function setTraits(profile: ProfileRecord, traits: Record<string, unknown>, at: number) {
  for (const key of Object.keys(traits)) {
    const known = profile.traitTimes[key];
    if (known !== undefined && known > at) continue;
    profile.traits[key] = traits[key];
    profile.traitTimes[key] = at;
    if (key === 'email') profile.email = cleanEmail(traits[key]);
  }
}

/**
 * Folds the profile `from` into `into` (a merge): counters and sums add up, first-touch data
 * comes from whichever saw the person first, traits keep the newest value of each.
 */
export function mergeProfiles(into: ProfileRecord, from: ProfileRecord): void {
  const a = into.computed;
  const b = from.computed;
  const merged: Computed = emptyComputed();
  merged.firstSeen = minOf(a.firstSeen, b.firstSeen);
  merged.lastSeen = maxOf(a.lastSeen, b.lastSeen);
  merged.sessions = a.sessions + b.sessions;
  merged.pageviews = a.pageviews + b.pageviews;
  merged.eventCount = a.eventCount + b.eventCount;
  merged.events = addCounts(a.events, b.events);
  for (const name of new Set([...Object.keys(a.daily), ...Object.keys(b.daily)])) {
    merged.daily[name] = addCounts(a.daily[name] ?? {}, b.daily[name] ?? {});
  }
  merged.orders = a.orders + b.orders;
  merged.revenue = round2(a.revenue + b.revenue);
  merged.refunds = round2(a.refunds + b.refunds);
  merged.firstOrderAt = minOf(a.firstOrderAt, b.firstOrderAt);
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
  merged.firstId = a.firstId ?? b.firstId;
  merged.session = !a.session ? b.session : !b.session ? a.session : a.session.last >= b.session.last ? a.session : b.session;
  into.computed = merged;

  for (const key of Object.keys(from.traits)) {
    const at = from.traitTimes[key] ?? 0;
    const known = into.traitTimes[key];
    if (known === undefined || at > known) {
      into.traits[key] = from.traits[key];
      into.traitTimes[key] = at;
    }
  }
  into.email = typeof into.traits.email === 'string' ? cleanEmail(into.traits.email) : (into.email ?? from.email);
  into.userId ??= from.userId;
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
