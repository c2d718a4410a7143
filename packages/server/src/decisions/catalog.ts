import { compileRule, usesRankings, type Predicate } from '../segments/compile.js';
import type { Store } from '../store/store.js';
import type { Offer, Segment } from './types.js';

export interface CompiledSegment {
  segment: Segment;
  matches: Predicate;
}

export interface SiteCatalog {
  segments: Map<string, CompiledSegment>;
  /** Offers of each slot, highest priority first. */
  offersBySlot: Map<string, Offer[]>;
  offers: Map<string, Offer>;
  /** Some segment asks for ABC or RFM, which need the site-wide rankings. */
  usesRankings: boolean;
}

/**
 * Segments (compiled) and offers of each site, kept in memory for decisions: a decision never
 * reads them from the database. Every change made through the admin API drops the site's entry.
 */
export class Catalog {
  private readonly sites = new Map<string, Promise<SiteCatalog>>();

  constructor(private readonly store: Store) {}

  forSite(siteId: string): Promise<SiteCatalog> {
    const cached = this.sites.get(siteId);
    if (cached) return cached;
    const entry = this.load(siteId);
    this.sites.set(siteId, entry);
    // A failed load is dropped so that the next call retries, unless an invalidation replaced it already.
    entry.catch(() => {
      if (this.sites.get(siteId) === entry) this.sites.delete(siteId);
    });
    return entry;
  }

  invalidate(siteId: string) {
    this.sites.delete(siteId);
  }

  /** Drops every site's entry: changes made elsewhere may have been missed. */
  invalidateAll() {
    this.sites.clear();
  }

  private async load(siteId: string): Promise<SiteCatalog> {
    const [segments, offers] = await Promise.all([this.store.listSegments(siteId), this.store.listOffers(siteId)]);
    const offersBySlot = new Map<string, Offer[]>();
    for (const offer of offers) {
      const list = offersBySlot.get(offer.slot) ?? [];
      list.push(offer);
      offersBySlot.set(offer.slot, list);
    }
    for (const list of offersBySlot.values()) list.sort((a, b) => b.priority - a.priority || a.createdAt - b.createdAt);
    return {
      segments: new Map(segments.map((s) => [s.id, { segment: s, matches: compileRule(s.rule) }])),
      offersBySlot,
      offers: new Map(offers.map((o) => [o.id, o])),
      usesRankings: segments.some((s) => usesRankings(s.rule)),
    };
  }
}
