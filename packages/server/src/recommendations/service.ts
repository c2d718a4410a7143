import type { RecommendedItem } from '@rapport/protocol';
import type { ProductRecord } from '../store/recommendations.js';
import type { Store } from '../store/store.js';
import type { Site } from '../store/types.js';
import { readProductEvent } from './interactions.js';
import { parseModel, recommend } from './models/index.js';
import { trainSite, type TrainedModel } from './trainer.js';
import type { Interaction, Model, Reason, Strategy } from './models/types.js';

/** How long a node serves a model before it asks the store whether a newer one was trained. */
export const MODEL_CHECK_MS = 1_000;
/**
 * How long a product's catalog fields are reused: the few products a model recommends are asked
 * for on every request, and a feed import through this node drops them at once (other nodes
 * see it within this time).
 */
export const PRODUCT_TTL_MS = 5_000;
/** Products remembered per site; past it the site's cache starts again. */
const MAX_CACHED_PRODUCTS = 50_000;
/** A person's newest e-commerce events read for "for you": reading them is the largest cost of a request. */
const HISTORY_EVENTS = 30;
export const MAX_LIMIT = 50;

export interface RecommendationQuery {
  strategy: Strategy;
  /** The visitor's profile, null for one not stored yet. */
  profileId: string | null;
  /** The product of the page; bought- and viewed-together fall back to the last one the person looked at. */
  productId?: string | null;
  category?: string | null;
  limit: number;
  /** The person's history when the caller read it already (several slots of one page). */
  history?: Promise<Interaction[]>;
}

interface Loaded {
  trainedAt: number;
  model: Model;
}

interface Entry {
  loaded: Loaded | null;
  checkedAt: number;
  /** A check or a load in flight: requests meanwhile are served the model in hand. */
  refreshing: Promise<void> | null;
  /** When the stored model that could not be read was trained. */
  unreadable?: number;
}

/**
 * Serves recommendations from each site's newest trained model, kept in memory; once a second
 * at most it asks the store whether a newer model was saved (by this node's trainer or another
 * node's), and loads that one while the old one keeps serving. Only products of the catalog that
 * are not marked unavailable are returned, with their catalog fields.
 *
 * @example
 * const { items } = await recommender.recommend(site, { strategy: 'bought-together', profileId, productId: 'p-12', limit: 4 });
 */
export class Recommender {
  private readonly entries = new Map<string, Entry>();
  /** By site, by product id: its record (null: not in the catalog) and when it was read. */
  private readonly products = new Map<string, Map<string, { record: ProductRecord | null; at: number }>>();
  /** Trainings asked for (API, console) and still running, by site. */
  private readonly training = new Map<string, Promise<TrainedModel>>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** The site's model, when one was trained. */
  async model(siteId: string): Promise<Loaded | null> {
    let entry = this.entries.get(siteId);
    if (!entry) {
      entry = { loaded: null, checkedAt: 0, refreshing: null };
      this.entries.set(siteId, entry);
    }
    if (this.now() - entry.checkedAt >= MODEL_CHECK_MS && !entry.refreshing) {
      entry.checkedAt = this.now();
      const e = entry;
      // With a model in hand a failed check is tried again in a second; without one the request
      // waiting for it gets the error.
      e.refreshing = this.refresh(siteId, e)
        .catch((error) => {
          if (!e.loaded) throw error;
        })
        .finally(() => (e.refreshing = null));
    }
    // Only a node without any model waits for the first load.
    if (!entry.loaded && entry.refreshing) await entry.refreshing;
    return entry.loaded;
  }

  /** Forgets a site's model, so the next request loads the newest (after a training on this node). */
  invalidate(siteId: string) {
    this.entries.delete(siteId);
    this.products.delete(siteId);
  }

  /**
   * Trains a site's models now and serves the new ones on this node at once (other nodes notice
   * within a second). A second call while one runs waits for the same training.
   *
   * @example
   * const trained = await ctx.recommender.train(site);
   */
  train(site: Site): Promise<TrainedModel> {
    let run = this.training.get(site.id);
    if (!run) {
      run = trainSite(this.store, site, { now: this.now() })
        .then((trained) => {
          this.invalidate(site.id);
          return trained;
        })
        .finally(() => this.training.delete(site.id));
      this.training.set(site.id, run);
    }
    return run;
  }

  /** Forgets a site's products (a feed import changed them). */
  invalidateProducts(siteId: string) {
    this.products.delete(siteId);
  }

  async recommend(site: Site, query: RecommendationQuery): Promise<{ items: RecommendedItem[]; trainedAt: number | null }> {
    const loaded = await this.model(site.id);
    if (!loaded) return { items: [], trainedAt: null };
    const limit = Math.max(1, Math.min(MAX_LIMIT, Math.floor(query.limit)));
    // Trending needs no one's history; the lists of a product only when no product was given.
    const needsHistory = query.profileId !== null && (query.strategy === 'for-you' || (query.strategy !== 'trending' && !query.productId));
    const history = needsHistory ? await (query.history ?? this.history(site.id, query.profileId!)) : [];
    const productId = query.productId ?? (query.strategy === 'for-you' || query.strategy === 'trending' ? undefined : lastLookedAt(history));
    if ((query.strategy === 'bought-together' || query.strategy === 'viewed-together') && !productId) return { items: [], trainedAt: loaded.trainedAt };
    // Asked for more than needed: some may turn out unavailable or missing from the catalog.
    const candidates = recommend(loaded.model, {
      strategy: query.strategy,
      productId: productId ?? undefined,
      history,
      limit: Math.min(MAX_LIMIT, limit * 3),
      isAvailable: () => true,
      boughtAgainCategories: site.settings.recommendations.boughtAgainCategories,
      category: query.category ?? null,
      now: this.now(),
    });
    const products = await this.catalog(site.id, candidates.map((c) => c.productId));
    const items: RecommendedItem[] = [];
    for (const c of candidates) {
      const p = products.get(c.productId);
      if (!p || p.available === false) continue;
      items.push({ productId: p.productId, name: p.name, price: p.price, currency: p.currency, url: p.url, imageUrl: p.imageUrl, reason: reasonText(c.reason), score: c.score });
      if (items.length === limit) break;
    }
    return { items, trainedAt: loaded.trainedAt };
  }

  /** The catalog records of `ids`, from the cache where fresh, else from the store. */
  private async catalog(siteId: string, ids: string[]): Promise<Map<string, ProductRecord | null>> {
    let cache = this.products.get(siteId);
    if (!cache || cache.size > MAX_CACHED_PRODUCTS) this.products.set(siteId, (cache = new Map()));
    const now = this.now();
    const out = new Map<string, ProductRecord | null>();
    const missing: string[] = [];
    for (const id of ids) {
      const hit = cache.get(id);
      if (hit && now - hit.at < PRODUCT_TTL_MS) out.set(id, hit.record);
      else missing.push(id);
    }
    if (missing.length) {
      const found = new Map((await this.store.recommendations.getProducts(siteId, missing)).map((p) => [p.productId, p]));
      for (const id of missing) {
        const record = found.get(id) ?? null;
        cache.set(id, { record, at: now });
        out.set(id, record);
      }
    }
    return out;
  }

  /** A person's newest e-commerce interactions, newest first: what "for you" starts from. */
  async history(siteId: string, profileId: string): Promise<Interaction[]> {
    const rows = await this.store.recommendations.profileProductEvents(siteId, profileId, HISTORY_EVENTS);
    return rows.flatMap((row) => readProductEvent(row).interactions);
  }

  private async refresh(siteId: string, entry: Entry) {
    const trainedAt = await this.store.recommendations.modelTrainedAt(siteId);
    if (trainedAt === null || trainedAt === entry.loaded?.trainedAt || trainedAt === entry.unreadable) return;
    const stored = await this.store.recommendations.loadModel(siteId);
    const model = stored && parseModel(stored.data);
    if (stored && model) entry.loaded = { trainedAt: stored.trainedAt, model };
    // Another version's model: not loaded again every second, only once a newer one is saved.
    else if (stored) entry.unreadable = stored.trainedAt;
  }
}

/** The product the person viewed or carted last: what "bought together" starts from without a product on the page. */
function lastLookedAt(history: Interaction[]): string | undefined {
  return (history.find((i) => i.kind !== 'order') ?? history[0])?.productId;
}

/** A reason as a short phrase for the API and the console. */
export function reasonText(reason: Reason): string {
  switch (reason.kind) {
    case 'bought-together':
      return `bought together with ${reason.with} (lift ${reason.lift.toFixed(1)})`;
    case 'viewed-together':
      return `viewed together with ${reason.with} in ${reason.sessions} sessions`;
    case 'similar':
      return `similar to ${reason.to.join(', ')}`;
    case 'trending':
      return 'trending';
    case 'popular-in-category':
      return `popular in ${reason.category}`;
  }
}
