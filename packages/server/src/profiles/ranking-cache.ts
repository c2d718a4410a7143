import type { Store } from '../store/store.js';
import type { Rankings } from './rankings.js';

/** How long site-wide rankings are reused before they are computed again. */
export const RANKINGS_TTL_MS = 10 * 60 * 1000;

interface Entry {
  startedAt: number;
  value: Promise<Rankings>;
  /** The computed rankings, once there: served while newer ones are computed. */
  ready: Rankings | null;
  refreshing: boolean;
}

/**
 * ABC and RFM need every customer of a site, so they are computed on demand and cached per site
 * for ten minutes; erasures drop the cache. Only the very first call waits: after that, stale
 * rankings are served while fresh ones are computed, so a decision never waits for a recount.
 */
export class RankingCache {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  get(siteId: string): Promise<Rankings> {
    const cached = this.cache.get(siteId);
    if (!cached) return this.compute(siteId).value;
    if (this.now() - cached.startedAt >= RANKINGS_TTL_MS && cached.ready && !cached.refreshing) {
      cached.refreshing = true;
      this.compute(siteId, cached);
    }
    return cached.ready ? Promise.resolve(cached.ready) : cached.value;
  }

  /**
   * The rankings if they are computed, else null (and their computation starts): for decisions,
   * which must not wait seconds for a recount of a million customers. Until the first count is
   * done, rules on ABC or RFM do not match.
   */
  peek(siteId: string): Rankings | null {
    const cached = this.cache.get(siteId);
    if (!cached) {
      this.compute(siteId).value.catch(() => {});
      return null;
    }
    if (cached.ready) void this.get(siteId);
    return cached.ready;
  }

  invalidate(siteId: string) {
    this.cache.delete(siteId);
  }

  private compute(siteId: string, previous?: Entry): Entry {
    const entry: Entry = {
      startedAt: this.now(),
      value: this.store.rankings(siteId, this.now()),
      ready: null,
      refreshing: false,
    };
    if (!previous) this.cache.set(siteId, entry);
    entry.value.then(
      (rankings) => {
        entry.ready = rankings;
        // A refresh replaces the stale entry only if nothing dropped or replaced it meanwhile.
        if (!previous || this.cache.get(siteId) === previous) this.cache.set(siteId, entry);
      },
      () => {
        if (previous) previous.refreshing = false;
        else if (this.cache.get(siteId) === entry) this.cache.delete(siteId);
      },
    );
    return entry;
  }
}
