import type { Store } from '../store/store.js';
import { computeRankings, type Rankings } from './rankings.js';

/** How long site-wide rankings are reused before they are computed again. */
export const RANKINGS_TTL_MS = 10 * 60 * 1000;

/**
 * ABC and RFM need every customer of a site, so they are computed on demand and cached per site
 * for ten minutes (erasures drop the cache at once). Concurrent callers share one computation.
 */
export class RankingCache {
  private readonly cache = new Map<string, { startedAt: number; value: Promise<Rankings> }>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  get(siteId: string): Promise<Rankings> {
    const cached = this.cache.get(siteId);
    if (cached && this.now() - cached.startedAt < RANKINGS_TTL_MS) return cached.value;
    const entry = {
      startedAt: this.now(),
      value: this.store.rankingInputs(siteId).then((inputs) => computeRankings(inputs, this.now())),
    };
    this.cache.set(siteId, entry);
    entry.value.catch(() => {
      if (this.cache.get(siteId) === entry) this.cache.delete(siteId);
    });
    return entry.value;
  }

  invalidate(siteId: string) {
    this.cache.delete(siteId);
  }
}
