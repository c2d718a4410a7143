/**
 * The recommendation models: what training learns from, what it produces, and what serving asks.
 * Pure data: no store, no I/O. `train.ts` builds a `Model` from interactions, `recommend.ts`
 * answers from one. A model is saved as JSON (`StoredModel.data`), so everything here is plain
 * objects, arrays, strings and numbers.
 */

import type { RecommendationStrategy } from '@rapport/protocol';

/** The strategies of `POST /v1/recommendations` and of offers of type `recommendations`. */
export const STRATEGIES: readonly RecommendationStrategy[] = ['bought-together', 'viewed-together', 'for-you', 'trending'];
export type Strategy = RecommendationStrategy;

/** What a person did with a product, strongest last. */
export type InteractionKind = 'view' | 'cart' | 'order';

/** One person and one product, read from a Product Viewed, Product Added or Order Completed event. */
export interface Interaction {
  profileId: string;
  productId: string;
  kind: InteractionKind;
  /** Event time, ms. */
  at: number;
  /** The SDK's session; views of one session are "viewed together". */
  sessionId: string | null;
  /** Order Completed: the order, so that its products form one basket. */
  orderId: string | null;
  category: string | null;
}

/** Training settings; `DEFAULT_TRAIN_OPTIONS` gives each. */
export interface TrainOptions {
  /** "Now" for recency and trending decay, ms. */
  now: number;
  /** Neighbours kept per product, per list. */
  topN: number;
  /** Bought together: a pair must be in at least this many orders. */
  minSupportCount: number;
  /** Bought together: P(B | A) at least this. */
  minConfidence: number;
  /** Viewed together: a pair must be seen in at least this many sessions. */
  minCoViews: number;
  /** Distinct products kept per session and per person (the newest), bounding the pair count. */
  maxItemsPerGroup: number;
  /** For you: weight of each kind of interaction. */
  kindWeights: Record<InteractionKind, number>;
  /** For you: an interaction's weight halves every this many days. */
  recencyHalfLifeDays: number;
  /** Trending: a view's weight halves every this many days. */
  trendingHalfLifeDays: number;
  /** Products kept in the trending and per-category popularity lists. */
  popularN: number;
}

export const DEFAULT_TRAIN_OPTIONS: Omit<TrainOptions, 'now'> = {
  topN: 20,
  minSupportCount: 2,
  minConfidence: 0.05,
  minCoViews: 2,
  maxItemsPerGroup: 30,
  kindWeights: { view: 1, cart: 3, order: 5 },
  recencyHalfLifeDays: 30,
  trendingHalfLifeDays: 7,
  popularN: 100,
};

/** A bought-together neighbour of product A, with the association figures of A → B. */
export interface Association {
  productId: string;
  /** Orders with both A and B. */
  count: number;
  /** count / all orders. */
  support: number;
  /** P(B | A) = count / orders with A. */
  confidence: number;
  /** confidence / P(B). */
  lift: number;
}

/** A neighbour with a similarity score (viewed together: co-viewing sessions; for you: cosine). */
export interface Neighbour {
  productId: string;
  score: number;
  /** Viewed together: sessions with both; for you: people with both. */
  count: number;
}

export interface Ranked {
  productId: string;
  score: number;
}

/** A site's trained model. */
export interface Model {
  version: 1;
  trainedAt: number;
  /** Figures for the console's model status. */
  stats: ModelStats;
  /** By product id: its top N by lift, above the support and confidence floors. */
  boughtTogether: Record<string, Association[]>;
  /** By product id: "people who viewed this also viewed", by co-viewing sessions. */
  viewedTogether: Record<string, Neighbour[]>;
  /** By product id: item-to-item cosine similarity over people's weighted interactions. */
  similar: Record<string, Neighbour[]>;
  /** Popularity with time decay, site-wide. */
  trending: Ranked[];
  /** Popularity with time decay, by category: the fallback for a new visitor with a category. */
  popularByCategory: Record<string, Ranked[]>;
  /** Each product's category, as the events said. */
  categories: Record<string, string>;
}

export interface ModelStats {
  interactions: number;
  orders: number;
  sessions: number;
  people: number;
  products: number;
  /** Share of products with at least one neighbour, per list (0–1). */
  coverage: { boughtTogether: number; viewedTogether: number; similar: number };
  trainingMs: number;
}

/** Why an item was chosen, for the API's `reason` and the console. */
export type Reason =
  | { kind: 'bought-together'; with: string; lift: number; confidence: number }
  | { kind: 'viewed-together'; with: string; sessions: number }
  | { kind: 'similar'; to: string[] }
  | { kind: 'trending' }
  | { kind: 'popular-in-category'; category: string };

export interface Recommendation {
  productId: string;
  score: number;
  reason: Reason;
}

/** A question to `recommend`. */
export interface RecommendRequest {
  strategy: Strategy;
  /** The product of the page: needed by bought-together and viewed-together. */
  productId?: string;
  /** The person's own interactions, newest first (for-you; also what to leave out). */
  history: Interaction[];
  limit: number;
  /** Products never to return (unavailable, the page's own product). */
  isAvailable: (productId: string) => boolean;
  /** Categories whose products may be recommended again after a purchase. */
  boughtAgainCategories: string[];
  /** For a visitor without history: popularity in this category instead of site-wide. */
  category?: string | null;
  now: number;
  recencyHalfLifeDays?: number;
  kindWeights?: Record<InteractionKind, number>;
}
