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
    if (!this.sharing) return this.store.rankings(siteId, now);
    const key = `rankings:${siteId}`;
    if (await this.store.lease(key, this.sharing.holder, RANKINGS_TTL_MS)) {
      const rankings = await this.store.rankings(siteId, now);
      await this.store.setMeta(key, encodeRankings(rankings));
      return rankings;
    }
    const published = await this.store.getMeta(key);
    // Until the holder has published a first count (in this version's form: one written before
    // the ABC summary existed has none), this node counts for itself, once.
    return (published && decodeRankings(published)) || this.store.rankings(siteId, now);
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

/** Rankings as text for the store: ids, then the classes and scores as base64 bytes. */
export function encodeRankings(rankings: Rankings): string {
  const ids = [...rankings.abc.keys()];
  const bytes = (pick: (i: number, id: string) => number) => Buffer.from(Uint8Array.from(ids, (id, i) => pick(i, id))).toString('base64');
  return JSON.stringify({
    computedAt: rankings.computedAt,
    summary: rankings.summary,
    ids,
    abc: bytes((_, id) => ' ABC'.indexOf(rankings.abc.get(id)!)),
    r: bytes((_, id) => rankings.rfm.get(id)?.r ?? 0),
    f: bytes((_, id) => rankings.rfm.get(id)?.f ?? 0),
    m: bytes((_, id) => rankings.rfm.get(id)?.m ?? 0),
  });
}

/** The rankings of `encodeRankings`, or null for a text in an older form. */
export function decodeRankings(text: string): Promise<Rankings> | null {
  const data = JSON.parse(text) as { computedAt: number; summary?: AbcSummary; ids: string[]; abc: string; r: string; f: string; m: string };
  if (!data.summary) return null;
  const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
  const packed: PackedRankings = { summary: data.summary, ids: data.ids, abc: bytes(data.abc), r: bytes(data.r), f: bytes(data.f), m: bytes(data.m) };
  return unpackRankings(packed, data.computedAt);
}
