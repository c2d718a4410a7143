import { SESSION_TIMEOUT_MS, type DecideResponse, type SlotDecision } from '@rapport/protocol';
import type { Rankings } from '../profiles/rankings.js';
import { emptyComputed, type Computed, type ProfileRecord } from '../profiles/types.js';
import { sumWithin } from '../profiles/view.js';
import type { CurrentContext, Subject } from '../segments/subject.js';
import type { Site } from '../store/types.js';
import { campaignKey } from '../enrich/referral.js';
import { inControlGroup } from './bucket.js';
import type { SiteCatalog } from './catalog.js';
import { fillContent } from './placeholders.js';
import type { Offer } from './types.js';

export interface DecideInput {
  site: Site;
  slots: string[];
  /** The visitor's profile, or null for a visitor not stored yet (a first page view). */
  profile: ProfileRecord | null;
  /** The id that keeps control buckets stable: the id the profile was first known by. */
  visitorKey: string;
  /** A verified (or trusted) user id, else null. */
  userId: string | null;
  current: CurrentContext;
  catalog: SiteCatalog;
  rankings: Rankings | null;
  now: number;
}

/**
 * Answers every slot of a page: for each, the highest-priority active offer in its schedule
 * whose segment matches and whose frequency cap is not reached; a visitor in the offer's
 * control group keeps the default. An offer an automation gave the person until a time that has
 * not come wins their slot first. Pure: everything it needs is in `input`.
 */
export function decide(input: DecideInput): DecideResponse {
  const { profile, catalog, now } = input;
  const subject: Subject = {
    profileId: profile?.id ?? null,
    userId: input.userId ?? profile?.userId ?? null,
    traits: profile?.traits ?? {},
    computed: withCurrentVisit(profile?.computed ?? emptyComputed(), input.current, now),
    now,
    rankings: input.rankings,
    current: input.current,
  };
  const matched = new Map<string, boolean>();
  const inSegment = (segmentId: string) => {
    let hit = matched.get(segmentId);
    if (hit === undefined) {
      const compiled = catalog.segments.get(segmentId);
      hit = compiled ? compiled.matches(subject) : false;
      matched.set(segmentId, hit);
    }
    return hit;
  };

  const grants = subject.computed.grants ?? {};
  const granted = (offer: Offer) => (grants[offer.id] ?? 0) > now;
  const slots: Record<string, SlotDecision | null> = {};
  for (const slot of input.slots) {
    slots[slot] = null;
    const offers = catalog.offersBySlot.get(slot) ?? [];
    // An offer an automation gave the person comes first, for them, whatever its segment; the
    // automation's own holdout measures it, so it has no control group here.
    const given = offers.find((offer) => granted(offer) && isLive(offer, now));
    if (given) {
      slots[slot] = { offerId: given.id, variant: 'offer', content: fillContent(given.content, subject.traits), reason: 'given by an automation' };
      continue;
    }
    for (const offer of offers) {
      if (!isLive(offer, now)) continue;
      if (offer.segmentId && !inSegment(offer.segmentId)) continue;
      if (offer.cap && sumWithin(subject.computed.offerViews[offer.id], offer.cap.days, now) >= offer.cap.count) continue;
      const control = inControlGroup(input.visitorKey, offer.id, offer.controlPercent);
      const decision: SlotDecision = control
        ? { offerId: offer.id, variant: 'control', content: null, reason: 'control group' }
        : {
            offerId: offer.id,
            variant: 'offer',
            content: fillContent(offer.content, subject.traits),
            reason: offer.segmentId ? 'segment matched' : 'everyone',
          };
      if (input.site.settings.exposeSegments) {
        decision.segments = [...catalog.segments.values()].filter((s) => inSegment(s.segment.id)).map((s) => s.segment.name);
      }
      slots[slot] = decision;
      break;
    }
  }
  return { slots };
}

/**
 * The counters as they will be once this page view is stored. A page asks for its slots while its
 * own page view is still on the way, so without this the landing page of a third visit would be
 * judged as a second visit. Days since last seen keep counting from the previous visit.
 */
export function withCurrentVisit(c: Computed, current: CurrentContext, now: number): Computed {
  if (!current.page) return c;
  const campaign = current.campaign ? campaignKey(current.campaign) : null;
  const s = c.session;
  const newSession = !s || now - s.last > SESSION_TIMEOUT_MS || (campaign !== null && campaign !== s.campaign);
  return { ...c, pageviews: c.pageviews + 1, sessions: c.sessions + (newSession ? 1 : 0) };
}

/** Active, and within its schedule (`endsAt` excluded). */
export const isLive = (offer: Offer, now: number) =>
  offer.status === 'active' && (offer.startsAt === null || now >= offer.startsAt) && (offer.endsAt === null || now < offer.endsAt);
