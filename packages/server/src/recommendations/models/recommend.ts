/**
 * Serving: a trained `Model` and a request give a short ranked list of products, each with the
 * reason it was picked. Pure and synchronous: the caller loads the model, the person's history
 * and the catalog's availability beforehand.
 */

import { getOwn } from './collections.js';
import { interactionWeight } from './train.js';
import { DEFAULT_TRAIN_OPTIONS, type Interaction, type Model, type Reason, type Recommendation, type RecommendRequest } from './types.js';

const MAX_LIMIT = 50;
/** For you: the newest interactions that shape the list (older taste shows in the model already). */
const HISTORY_USED = 50;
/** For you: history products named in a reason, the strongest contributors. */
const MAX_REASON_PRODUCTS = 3;

/**
 * The request's `limit` made a whole number in 1..50: a slot shows at least one card, and 50 is
 * more than any page shows.
 */
function clampLimit(limit: number): number {
  const whole = Math.floor(limit);
  return Number.isNaN(whole) ? 1 : Math.min(MAX_LIMIT, Math.max(1, whole));
}

/**
 * The list being built: it takes each product once, in the order offered, leaving out the page's
 * own product, unavailable products and `excluded`, and stops at the limit.
 */
class Picks {
  readonly items: Recommendation[] = [];
  private readonly seen = new Set<string>();
  private readonly limit: number;

  constructor(
    private readonly request: RecommendRequest,
    private readonly excluded: ReadonlySet<string> = new Set(),
  ) {
    this.limit = clampLimit(request.limit);
  }

  get full(): boolean {
    return this.items.length >= this.limit;
  }

  add(productId: string, score: number, reason: Reason): void {
    if (this.full || this.seen.has(productId)) return;
    // A product turned down once is turned down from any source: ask availability only once.
    this.seen.add(productId);
    if (productId === this.request.productId || this.excluded.has(productId) || !this.request.isAvailable(productId)) return;
    this.items.push({ productId, score, reason });
  }
}

/**
 * Score descending, then the more orders or sessions behind it (a lift of 1 over 12 orders says
 * more than the same lift over 3), then product id, whatever order a stored model's lists came in.
 */
function byScore<T extends { productId: string; score: number; count?: number }>(list: readonly T[]): T[] {
  return [...list].sort((x, y) => y.score - x.score || (y.count ?? 0) - (x.count ?? 0) || (x.productId < y.productId ? -1 : x.productId > y.productId ? 1 : 0));
}

function boughtTogether(model: Model, request: RecommendRequest, picks: Picks): void {
  const productId = request.productId;
  if (!productId) return;
  const neighbours = (getOwn(model.boughtTogether, productId) ?? []).map((a) => ({ ...a, score: a.lift }));
  for (const n of byScore(neighbours)) {
    if (picks.full) return;
    picks.add(n.productId, n.lift, { kind: 'bought-together', with: productId, lift: n.lift, confidence: n.confidence });
  }
}

function viewedTogether(model: Model, request: RecommendRequest, picks: Picks): void {
  const productId = request.productId;
  if (!productId) return;
  for (const n of byScore(getOwn(model.viewedTogether, productId) ?? [])) {
    if (picks.full) return;
    picks.add(n.productId, n.score, { kind: 'viewed-together', with: productId, sessions: n.count });
  }
}

/** Popularity in `category` (when there is one), then site-wide trending, until the list is full. */
function popularity(model: Model, category: string | null | undefined, picks: Picks): void {
  if (category) {
    for (const r of byScore(getOwn(model.popularByCategory, category) ?? [])) {
      if (picks.full) return;
      picks.add(r.productId, r.score, { kind: 'popular-in-category', category });
    }
  }
  for (const r of byScore(model.trending)) {
    if (picks.full) return;
    picks.add(r.productId, r.score, { kind: 'trending' });
  }
}

/** Each history product's weight, as training weighs a person's interactions. */
function historyWeights(history: readonly Interaction[], request: RecommendRequest): Map<string, number> {
  const kindWeights = request.kindWeights ?? DEFAULT_TRAIN_OPTIONS.kindWeights;
  const halfLife = request.recencyHalfLifeDays ?? DEFAULT_TRAIN_OPTIONS.recencyHalfLifeDays;
  const weights = new Map<string, number>();
  for (const i of history) {
    const weight = interactionWeight(i.kind, i.at, request.now, kindWeights, halfLife);
    if (weight > 0) weights.set(i.productId, (weights.get(i.productId) ?? 0) + weight);
  }
  return weights;
}

const categoryOf = (model: Model, i: Interaction) => getOwn(model.categories, i.productId) ?? i.category;

/**
 * For you leaves out what the person bought, except in categories bought again (coffee, say), and
 * the product of their newest interaction (all its lines, for an order): the page they are on,
 * or what they just did, is no news to them.
 */
function forYouExclusions(model: Model, request: RecommendRequest): Set<string> {
  const again = new Set(request.boughtAgainCategories);
  const excluded = new Set<string>();
  for (const i of request.history) {
    if (i.kind !== 'order') continue;
    const category = categoryOf(model, i);
    if (!category || !again.has(category)) excluded.add(i.productId);
  }
  const newest = request.history[0];
  for (const i of request.history) {
    if (i.at !== newest.at) break;
    excluded.add(i.productId);
  }
  return excluded;
}

interface Candidate {
  score: number;
  /** By history product: its share of the score. */
  from: Map<string, number>;
}

/** Score of each candidate: the sum over history products of weight × similarity. */
function similarCandidates(model: Model, weights: ReadonlyMap<string, number>): Map<string, Candidate> {
  const candidates = new Map<string, Candidate>();
  for (const [product, weight] of weights) {
    for (const n of getOwn(model.similar, product) ?? []) {
      let candidate = candidates.get(n.productId);
      if (!candidate) candidates.set(n.productId, (candidate = { score: 0, from: new Map() }));
      const share = weight * n.score;
      candidate.score += share;
      candidate.from.set(product, (candidate.from.get(product) ?? 0) + share);
    }
  }
  return candidates;
}

function strongest(from: ReadonlyMap<string, number>): string[] {
  return [...from]
    .sort(([x, sx], [y, sy]) => sy - sx || (x < y ? -1 : 1))
    .slice(0, MAX_REASON_PRODUCTS)
    .map(([product]) => product);
}

function forYou(model: Model, request: RecommendRequest, picks: Picks): void {
  const weights = historyWeights(request.history.slice(0, HISTORY_USED), request);
  const candidates = [...similarCandidates(model, weights)].map(([productId, c]) => ({ productId, score: c.score, from: c.from }));
  for (const c of byScore(candidates)) {
    if (picks.full) return;
    picks.add(c.productId, c.score, { kind: 'similar', to: strongest(c.from) });
  }
  const newest = request.history[0];
  popularity(model, request.category || (newest ? categoryOf(model, newest) : null), picks);
}

/**
 * Products for a slot or `POST /v1/recommendations`, best first, each with its reason:
 * - `bought-together`: the page product's neighbours by lift;
 * - `viewed-together`: its neighbours by co-viewing sessions (cosine);
 * - `for-you`: products similar to the person's newest 50 interactions, weighted by kind and
 *   recency, leaving out what they bought (unless its category is bought again) and what they
 *   touched last, filled up with popularity in their category, then trending;
 * - `trending`: popularity in `request.category` if given, then site-wide.
 * Never the page's product nor an unavailable one, no duplicates, at most `limit` (1..50).
 *
 * @example
 * recommend(model, {
 *   strategy: 'bought-together', productId: 'p-1', history: [], limit: 4, now: Date.now(),
 *   isAvailable: (id) => catalog.inStock(id), boughtAgainCategories: [],
 * }); // [{ productId: 'p-2', score: 3.1, reason: { kind: 'bought-together', with: 'p-1', lift: 3.1, confidence: 0.4 } }, ...]
 */
export function recommend(model: Model, request: RecommendRequest): Recommendation[] {
  switch (request.strategy) {
    case 'bought-together':
      return run(new Picks(request), (picks) => boughtTogether(model, request, picks));
    case 'viewed-together':
      return run(new Picks(request), (picks) => viewedTogether(model, request, picks));
    case 'for-you':
      return run(new Picks(request, forYouExclusions(model, request)), (picks) => forYou(model, request, picks));
    case 'trending':
      return run(new Picks(request), (picks) => popularity(model, request.category, picks));
    default:
      return [];
  }
}

function run(picks: Picks, fill: (picks: Picks) => void): Recommendation[] {
  fill(picks);
  return picks.items;
}
