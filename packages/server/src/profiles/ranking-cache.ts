import type { Store } from '../store/store.js';
import { unpackRankings, type AbcSummary, type PackedRankings, type Rankings } from './rankings.js';

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

  /**
   * `shared`: several nodes use the store (PostgreSQL). A refresh is then computed by the one
   * node that holds the site's lease (`holder` names this node), which publishes the result in
   * the store; the others read it there instead of each counting every customer again.
   */
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
    private readonly sharing: { holder: string } | null = null,
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

  invalidateAll() {
    this.cache.clear();
  }

  private async load(siteId: string, now: number): Promise<Rankings> {
    if (!this.sharing) return unpackRankings(await this.store.rankings(siteId, now), now);
    const key = `rankings:${siteId}`;
    if (await this.store.lease(key, this.sharing.holder, RANKINGS_TTL_MS)) {
      const packed = await this.store.rankings(siteId, now);
      await this.store.setMeta(key, encodeRankings(packed, now));
      return unpackRankings(packed, now);
    }
    const published = await this.store.getMeta(key);
    // Until the holder has published a first count (in this version's form), this node counts
    // for itself, once.
    const decoded = published ? decodeRankings(published) : null;
    if (decoded) return unpackRankings(decoded.packed, decoded.computedAt);
    return unpackRankings(await this.store.rankings(siteId, now), now);
  }

  private compute(siteId: string, previous?: Entry): Entry {
    const entry: Entry = {
      startedAt: this.now(),
      value: this.load(siteId, this.now()),
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

/**
 * Packed rankings as text for the store: a few long strings (the ids, then the classes and scores
 * as base64 bytes), which encode and parse in milliseconds where a million ids one by one took
 * a blocking second.
 */
export function encodeRankings(packed: PackedRankings, computedAt: number): string {
  const bytes = (array: Uint8Array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
  return JSON.stringify({
    form: 2,
    computedAt,
    summary: packed.summary,
    ids: packed.ids,
    abc: bytes(packed.abc),
    r: bytes(packed.r),
    f: bytes(packed.f),
    m: bytes(packed.m),
  });
}

/** The rankings of `encodeRankings`, or null for a text in an older form. */
export function decodeRankings(text: string): { packed: PackedRankings; computedAt: number } | null {
  const data = JSON.parse(text) as { form?: number; computedAt: number; summary: AbcSummary; ids: string; abc: string; r: string; f: string; m: string };
  if (data.form !== 2) return null;
  const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
  return {
    computedAt: data.computedAt,
    packed: { summary: data.summary, ids: data.ids, abc: bytes(data.abc), r: bytes(data.r), f: bytes(data.f), m: bytes(data.m) },
  };
}
