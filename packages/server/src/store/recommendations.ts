import type { JsonObject } from '@rapport/protocol';
import type { Page } from './types.js';

/**
 * `feed`: imported by `PUT /api/products`, the shop's word on the product. `observed`: known only
 * from events (Product Viewed, Product Added, Order Completed); a feed row always wins over it.
 */
export type ProductSource = 'feed' | 'observed';

/** What is known of a product: a feed row, what an event says, the catalog's fields. Null where nothing is said. */
export interface ProductFields {
  productId: string;
  sku: string | null;
  name: string | null;
  price: number | null;
  currency: string | null;
  category: string | null;
  url: string | null;
  imageUrl: string | null;
  /** False: never recommended. Null: not said, which counts as available. */
  available: boolean | null;
}

/** A product of a site's catalog. Fields the shop never told are null. */
export interface ProductRecord extends ProductFields {
  siteId: string;
  source: ProductSource;
  updatedAt: number;
}

/** The e-commerce events that recommendations learn from, as stored. */
export interface ProductEventRow {
  profileId: string;
  event: string;
  sessionId: string | null;
  /** Event time, ms. */
  at: number;
  properties: JsonObject | null;
  /** Tie-breaker within one millisecond, for paging. */
  seq: number;
}

/** A `ProductEventRow` as stored, its JSON not parsed yet: what a training thread reads. */
export interface ProductEventText extends Omit<ProductEventRow, 'properties'> {
  /** The event's stored JSON; its `message.properties` are the event's properties. */
  data: string;
}

/** A site's trained recommendation model, as the trainer saved it (see recommendations/). */
export interface StoredModel {
  siteId: string;
  trainedAt: number;
  /** What the model says about itself: products, coverage, training time. */
  stats: JsonObject;
  /** The model as JSON text: the store does not read it. */
  data: string;
}

export interface ProductQuery {
  siteId: string;
  /** Part of the id, the name or the SKU, case-insensitive. */
  q?: string;
  category?: string;
  limit: number;
  cursor?: string | null;
}

/** The catalog and the trained models of recommendations, one contract for every store. */
export interface RecommendationStore {
  /**
   * Adds or updates products. A `feed` row replaces what was known; an `observed` row fills in
   * what is still unknown about a feed product, and updates what events said before.
   */
  upsertProducts(products: ProductRecord[]): Promise<void>;
  getProducts(siteId: string, productIds: string[]): Promise<ProductRecord[]>;
  /** By product id. */
  listProducts(query: ProductQuery): Promise<Page<ProductRecord>>;
  countProducts(siteId: string): Promise<{ feed: number; observed: number; unavailable: number }>;
  /**
   * The site's Product Viewed, Product Added and Order Completed events from `since` (ms) on,
   * oldest first, `limit` at a time: pass the last row back as `after` for the next page.
   * `names`: other events of the list instead (the report of recommended items reads clicks).
   */
  productEvents(siteId: string, since: number, after: { at: number; seq: number } | null, limit: number, names?: readonly EventName[]): Promise<ProductEventRow[]>;
  /**
   * The training's pages of `productEvents` (the three e-commerce events), their JSON unparsed,
   * read off the event loop where the store can: a site's lookback is millions of rows, which the
   * training thread parses, not the thread that answers requests.
   */
  productEventTexts(siteId: string, since: number, after: { at: number; seq: number } | null, limit: number): Promise<ProductEventText[]>;
  /** One person's newest such events, newest first: what "for you" starts from. */
  profileProductEvents(siteId: string, profileId: string, limit: number): Promise<ProductEventRow[]>;
  saveModel(model: StoredModel): Promise<void>;
  loadModel(siteId: string): Promise<StoredModel | null>;
  /** When the site's model was trained and its figures, without the model itself (status pages). */
  modelStatus(siteId: string): Promise<Omit<StoredModel, 'data'> | null>;
  /** When the site's model was trained, null without one: a cheap check for a newer model. */
  modelTrainedAt(siteId: string): Promise<number | null>;
}

/** The events recommendations learn from, by name (Segment's e-commerce spec). */
export const PRODUCT_EVENTS = ['Product Viewed', 'Product Added', 'Order Completed'] as const;
/** Every event name `productEvents` may be asked for: those, and the events of recommended items. */
export const RECOMMENDATION_EVENT_NAMES = [...PRODUCT_EVENTS, 'Product Clicked', 'Product List Viewed'] as const;
export type EventName = (typeof RECOMMENDATION_EVENT_NAMES)[number];
