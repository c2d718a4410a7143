/**
 * Training: one pass over a site's interactions, oldest first, aggregated as they come (baskets
 * and sessions are counted when they close, people's tastes and products' popularity are running
 * sums), then `finish()` turns the aggregates into a `Model`. Nothing here keeps the interactions
 * themselves, so a site's whole history can stream through page by page.
 */

import { SESSION_TIMEOUT_MS } from '@rapport/protocol';
import { Interner, OpenGroups, PairCounts, TopN, setOwn, type OpenGroup, type Scored } from './collections.js';
import {
  DEFAULT_TRAIN_OPTIONS,
  type Association,
  type Interaction,
  type InteractionKind,
  type Model,
  type Neighbour,
  type Ranked,
  type TrainOptions,
} from './types.js';

export const MODEL_VERSION = 1 as const;

/**
 * Similar: a pair of products needs this many people in common. One person who happened to touch
 * both is noise, and with one person cosine similarity is high for any two products they had.
 */
export const MIN_COMMON_PEOPLE = 2;

const DAY_MS = 24 * 60 * 60 * 1000;
/** A session idle for twice the SDK's timeout has ended; the slack absorbs late batches. */
const SESSION_IDLE_MS = 2 * SESSION_TIMEOUT_MS;
/** An order's lines share one event time; an hour of slack absorbs pages slightly out of order. */
const BASKET_IDLE_MS = 60 * 60 * 1000;
/**
 * A person's products are pruned to the `PERSON_KEEP_FACTOR × maxItemsPerGroup` heaviest once
 * they exceed `PERSON_PRUNE_FACTOR ×` that: it bounds the memory and time of heavy users and bots,
 * and a product pruned that early is far from the final top `maxItemsPerGroup` anyway.
 */
const PERSON_PRUNE_FACTOR = 8;
const PERSON_KEEP_FACTOR = 4;

const KINDS: ReadonlySet<string> = new Set<InteractionKind>(['view', 'cart', 'order']);

/** Training settings: `now` is required, anything else left out comes from `DEFAULT_TRAIN_OPTIONS`. */
export type TrainSettings = Pick<TrainOptions, 'now'> & Partial<Omit<TrainOptions, 'now'>>;

/**
 * The full options of `settings`, defaults filled in (`kindWeights` kind by kind).
 *
 * @example
 * resolveTrainOptions({ now: Date.now(), topN: 10 }).minCoViews; // 2, the default
 */
export function resolveTrainOptions(settings: TrainSettings): TrainOptions {
  const options: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, kindWeights: { ...DEFAULT_TRAIN_OPTIONS.kindWeights }, now: settings.now };
  for (const [key, value] of Object.entries(settings)) {
    // An explicit `undefined` (an unset form field, say) means "the default", not "nothing".
    if (value === undefined || key === 'kindWeights') continue;
    (options as unknown as Record<string, unknown>)[key] = value;
  }
  for (const [kind, weight] of Object.entries(settings.kindWeights ?? {})) {
    if (typeof weight === 'number') options.kindWeights[kind as InteractionKind] = weight;
  }
  return options;
}

/**
 * An interaction's weight: its kind's weight, halved every `halfLifeDays` of age (a non-positive
 * half-life means no decay). Future events (clock skew) count as new, not as heavier than new.
 *
 * @example
 * interactionWeight('order', now - 30 * DAY, now, { view: 1, cart: 3, order: 5 }, 30); // 2.5
 */
export function interactionWeight(
  kind: InteractionKind,
  at: number,
  now: number,
  kindWeights: Record<InteractionKind, number>,
  halfLifeDays: number,
): number {
  const weight = kindWeights[kind];
  if (typeof weight !== 'number' || !(weight > 0)) return 0;
  if (!(halfLifeDays > 0)) return weight;
  const age = Math.max(0, now - at);
  // 0.5^(age / halfLife), as exp: several times faster than Math.pow, and this runs per interaction.
  return weight * Math.exp((-age * Math.LN2) / (halfLifeDays * DAY_MS));
}

/** `values[index] += by`, growing the array with zeros (kept packed: no holes). */
function addAt(values: number[], index: number, by: number): void {
  while (values.length <= index) values.push(0);
  values[index] += by;
}

/** Bought together: Order Completed lines grouped into baskets, pairs counted per basket. */
class BoughtTogether {
  private pairs = new PairCounts();
  private readonly ordersWith: number[] = [];
  orders = 0;
  readonly baskets = new OpenGroups(BASKET_IDLE_MS, (items) => this.count(items));
  /** The previous line's basket key and what it was made of. */
  private lastProfileId = '';
  private lastOrderId: string | null = null;
  private lastAt = NaN;
  private lastKey = '';

  constructor(private readonly options: TrainOptions) {}

  add(i: Interaction, product: number): OpenGroup {
    const basket = this.baskets.touch(this.basketKey(i), i.at);
    if (!basket.items.includes(product)) basket.items.push(product);
    return basket;
  }

  /** The basket of an order line; an order without id is one event: its lines share person and time. */
  private basketKey(i: Interaction): string {
    const orderId = i.orderId || null;
    // An order's lines come in a row: reuse the key rather than build (and hash) a new string.
    if (i.profileId === this.lastProfileId && orderId === this.lastOrderId && (orderId !== null || i.at === this.lastAt)) return this.lastKey;
    this.lastProfileId = i.profileId;
    this.lastOrderId = orderId;
    this.lastAt = i.at;
    this.lastKey = orderId !== null ? `${i.profileId}\u0001${orderId}` : `${i.profileId}\u0002${i.at}`;
    return this.lastKey;
  }

  private count(items: number[]): void {
    this.orders++;
    for (const product of items) addAt(this.ordersWith, product, 1);
    this.pairs.addGroup(items);
  }

  finish(names: readonly string[]): Record<string, Association[]> {
    this.baskets.closeAll();
    const { minSupportCount, minConfidence, topN } = this.options;
    const tops: Array<TopN | undefined> = [];
    const offer = (a: number, b: number, count: number) => {
      const confidence = count / this.ordersWith[a];
      if (confidence < minConfidence) return;
      const lift = confidence / (this.ordersWith[b] / this.orders);
      (tops[a] ??= new TopN(topN, names)).offer(b, lift, count);
    };
    this.pairs.forEach((a, b, count) => {
      if (count < minSupportCount) return;
      offer(a, b, count);
      offer(b, a, count);
    });
    this.pairs = new PairCounts();
    const result: Record<string, Association[]> = {};
    tops.forEach((top, a) => {
      if (top) setOwn(result, names[a], top.items.map((n) => this.association(a, n, names)));
    });
    return result;
  }

  private association(a: number, { item, score, count }: Scored, names: readonly string[]): Association {
    return { productId: names[item], count, support: count / this.orders, confidence: count / this.ordersWith[a], lift: score };
  }
}

/**
 * Keeps `product` as the newest of `items` (distinct, oldest first), dropping the oldest past
 * `cap`: a session's newest products say most about what the visitor was comparing.
 */
function keepNewest(items: number[], product: number, cap: number): void {
  const at = items.indexOf(product);
  if (at === items.length - 1 && at >= 0) return;
  if (at >= 0) items.splice(at, 1);
  items.push(product);
  if (items.length > cap) items.shift();
}

/** Viewed together: views grouped by session, pairs scored by cosine over sessions. */
class ViewedTogether {
  private pairs = new PairCounts();
  private readonly sessionsWith: number[] = [];
  sessionCount = 0;
  readonly sessions = new OpenGroups(SESSION_IDLE_MS, (items) => this.count(items));

  constructor(private readonly options: TrainOptions) {}

  add(i: Interaction, product: number): OpenGroup | null {
    if (!i.sessionId) return null;
    const session = this.sessions.touch(i.sessionId, i.at);
    keepNewest(session.items, product, this.options.maxItemsPerGroup);
    return session;
  }

  private count(items: number[]): void {
    this.sessionCount++;
    for (const product of items) addAt(this.sessionsWith, product, 1);
    this.pairs.addGroup(items);
  }

  finish(names: readonly string[]): Record<string, Neighbour[]> {
    this.sessions.closeAll();
    const { minCoViews, topN } = this.options;
    const tops: Array<TopN | undefined> = [];
    this.pairs.forEach((a, b, count) => {
      if (count < minCoViews) return;
      const score = count / Math.sqrt(this.sessionsWith[a] * this.sessionsWith[b]);
      (tops[a] ??= new TopN(topN, names)).offer(b, score, count);
      (tops[b] ??= new TopN(topN, names)).offer(a, score, count);
    });
    this.pairs = new PairCounts();
    return neighbourRecord(tops, names);
  }
}

function neighbourRecord(tops: Array<TopN | undefined>, names: readonly string[]): Record<string, Neighbour[]> {
  const result: Record<string, Neighbour[]> = {};
  tops.forEach((top, a) => {
    if (top && top.items.length > 0) setOwn(result, names[a], top.items.map(toNeighbour(names)));
  });
  return result;
}

const toNeighbour =
  (names: readonly string[]) =>
  ({ item, score, count }: Scored): Neighbour => ({ productId: names[item], score, count });

/**
 * The `keep` heaviest of a person's products, as `[product, weight, ...]` pairs; ties go to the
 * product whose id sorts first, so the choice does not depend on the order of the events.
 */
function heaviest(pairs: readonly number[], keep: number, names: readonly string[]): number[] {
  const order: number[] = [];
  for (let i = 0; i < pairs.length; i += 2) order.push(i);
  order.sort((x, y) => pairs[y + 1] - pairs[x + 1] || (names[pairs[x]] < names[pairs[y]] ? -1 : 1));
  const out: number[] = [];
  for (const i of order.slice(0, keep)) out.push(pairs[i], pairs[i + 1]);
  return out;
}

/** People's products in compressed rows: person `p` has `items[start[p] .. start[p + 1])`. */
interface Rows {
  start: Int32Array;
  items: Int32Array;
  weights: Float64Array;
}

/**
 * Similar: each person's weighted products, then item-to-item cosine similarity. The pairs are
 * not counted in Maps as they stream in: a person's weights keep changing until the end, so the
 * pairs can only be formed at `finish()`, where an inverted index (product → people) and one dense
 * accumulator per product row do it in typed arrays, with memory linear in the kept weights.
 */
class Tastes {
  /** By person: `[product, weight, product, weight, ...]`. */
  private people: number[][] = [];

  constructor(
    private readonly options: TrainOptions,
    private readonly names: readonly string[],
  ) {}

  add(person: number, product: number, weight: number): void {
    while (this.people.length <= person) this.people.push([]);
    const pairs = this.people[person];
    // Searching from the end: the products a person touches again are usually recent ones.
    for (let i = pairs.length - 2; i >= 0; i -= 2) {
      if (pairs[i] === product) {
        pairs[i + 1] += weight;
        return;
      }
    }
    pairs.push(product, weight);
    const cap = this.options.maxItemsPerGroup;
    if (pairs.length > 2 * PERSON_PRUNE_FACTOR * cap) this.people[person] = heaviest(pairs, PERSON_KEEP_FACTOR * cap, this.names);
  }

  finish(productCount: number): Record<string, Neighbour[]> {
    const people = this.compact();
    this.people = [];
    const byProduct = invert(people, productCount);
    const norms = new Float64Array(productCount);
    for (let p = 0; p < productCount; p++) {
      let sum = 0;
      for (let k = byProduct.start[p]; k < byProduct.start[p + 1]; k++) sum += byProduct.weights[k] ** 2;
      norms[p] = Math.sqrt(sum);
    }
    const tops: Array<TopN | undefined> = [];
    const row = new SimilarityRow(productCount);
    for (let a = 0; a < productCount; a++) {
      if (byProduct.start[a] === byProduct.start[a + 1]) continue;
      row.fill(a, byProduct, people);
      tops[a] = row.top(a, norms, this.options.topN, this.names);
    }
    return neighbourRecord(tops, this.names);
  }

  /** Each person's `maxItemsPerGroup` heaviest products, in compressed rows. */
  private compact(): Rows {
    const cap = this.options.maxItemsPerGroup;
    const kept = this.people.map((pairs) => (pairs.length > 2 * cap ? heaviest(pairs, cap, this.names) : pairs));
    const start = new Int32Array(kept.length + 1);
    kept.forEach((pairs, p) => (start[p + 1] = start[p] + pairs.length / 2));
    const items = new Int32Array(start[kept.length]);
    const weights = new Float64Array(start[kept.length]);
    kept.forEach((pairs, p) => {
      for (let i = 0; i < pairs.length; i += 2) {
        items[start[p] + i / 2] = pairs[i];
        weights[start[p] + i / 2] = pairs[i + 1];
      }
    });
    return { start, items, weights };
  }
}

/** The transpose of `rows`: by product, the people who have it (in `items`) and their weight. */
function invert(rows: Rows, productCount: number): Rows {
  const start = new Int32Array(productCount + 1);
  for (const product of rows.items) start[product + 1]++;
  for (let p = 0; p < productCount; p++) start[p + 1] += start[p];
  const next = start.slice(0, productCount);
  const items = new Int32Array(rows.items.length);
  const weights = new Float64Array(rows.items.length);
  for (let person = 0; person + 1 < rows.start.length; person++) {
    for (let k = rows.start[person]; k < rows.start[person + 1]; k++) {
      const at = next[rows.items[k]]++;
      items[at] = person;
      weights[at] = rows.weights[k];
    }
  }
  return { start, items, weights };
}

/**
 * One product's dot products with every other product, summed in dense arrays over the people
 * who have it; only the touched entries are read back and reset, so a row costs its own work.
 */
class SimilarityRow {
  private readonly dot: Float64Array;
  private readonly common: Uint32Array;
  private readonly touched: Int32Array;
  private touchedCount = 0;

  constructor(productCount: number) {
    this.dot = new Float64Array(productCount);
    this.common = new Uint32Array(productCount);
    this.touched = new Int32Array(productCount);
  }

  fill(a: number, byProduct: Rows, people: Rows): void {
    for (let k = byProduct.start[a]; k < byProduct.start[a + 1]; k++) {
      const person = byProduct.items[k];
      const weightA = byProduct.weights[k];
      for (let j = people.start[person]; j < people.start[person + 1]; j++) {
        const b = people.items[j];
        if (b === a) continue;
        if (this.common[b] === 0) this.touched[this.touchedCount++] = b;
        this.common[b]++;
        this.dot[b] += weightA * people.weights[j];
      }
    }
  }

  /** The row's best neighbours (cosine), resetting the row for the next product. */
  top(a: number, norms: Float64Array, n: number, names: readonly string[]): TopN | undefined {
    let top: TopN | undefined;
    for (let k = 0; k < this.touchedCount; k++) {
      const b = this.touched[k];
      const denominator = norms[a] * norms[b];
      if (this.common[b] >= MIN_COMMON_PEOPLE && denominator > 0) (top ??= new TopN(n, names)).offer(b, this.dot[b] / denominator, this.common[b]);
      this.common[b] = 0;
      this.dot[b] = 0;
    }
    this.touchedCount = 0;
    return top;
  }
}

/** Trending and per-category popularity: decayed sums of every interaction's weight. */
class Popularity {
  private readonly total: number[] = [];
  /**
   * Each product's first category and its score there: nearly every product keeps one category,
   * so this plain array takes almost every interaction, sparing a Map update (and a boxed number)
   * per interaction. Other categories of a product go to `otherCategories`.
   */
  private readonly category: Array<string | null> = [];
  private readonly categoryScore: number[] = [];
  private readonly otherCategories = new Map<string, Map<number, number>>();
  /** Weight of interactions without a category, credited to the product's category at the end. */
  private readonly uncategorized: number[] = [];

  constructor(private readonly options: TrainOptions) {}

  add(i: Interaction, product: number): void {
    const { now, kindWeights, trendingHalfLifeDays } = this.options;
    const weight = interactionWeight(i.kind, i.at, now, kindWeights, trendingHalfLifeDays);
    if (weight <= 0) return;
    addAt(this.total, product, weight);
    if (!i.category) return addAt(this.uncategorized, product, weight);
    while (this.category.length <= product) this.category.push(null);
    this.category[product] ??= i.category;
    if (this.category[product] === i.category) addAt(this.categoryScore, product, weight);
    else addScore(this.otherCategories, i.category, product, weight);
  }

  finish(names: readonly string[], categories: ReadonlyArray<string | null>) {
    const byCategory = this.otherCategories;
    this.category.forEach((category, product) => {
      if (category) addScore(byCategory, category, product, this.categoryScore[product]);
    });
    this.uncategorized.forEach((weight, product) => {
      if (categories[product] && weight > 0) addScore(byCategory, categories[product], product, weight);
    });
    const n = this.options.popularN;
    const trending = ranked(this.total.entries(), n, names);
    const popularByCategory: Record<string, Ranked[]> = {};
    for (const [category, scores] of [...byCategory].sort(([x], [y]) => (x < y ? -1 : 1))) {
      setOwn(popularByCategory, category, ranked(scores.entries(), n, names));
    }
    return { trending, popularByCategory };
  }
}

function addScore(byCategory: Map<string, Map<number, number>>, category: string, product: number, weight: number): void {
  let scores = byCategory.get(category);
  if (!scores) byCategory.set(category, (scores = new Map()));
  scores.set(product, (scores.get(product) ?? 0) + weight);
}

/** The `n` best of `[product, score]` entries, score descending, ties by product id. */
function ranked(entries: Iterable<[number, number]>, n: number, names: readonly string[]): Ranked[] {
  const positive = [...entries].filter(([, score]) => score > 0);
  positive.sort(([x, sx], [y, sy]) => sy - sx || (names[x] < names[y] ? -1 : 1));
  return positive.slice(0, n).map(([product, score]) => ({ productId: names[product], score }));
}

function isUsable(i: Interaction): boolean {
  return (
    typeof i.productId === 'string' &&
    i.productId !== '' &&
    typeof i.profileId === 'string' &&
    i.profileId !== '' &&
    KINDS.has(i.kind) &&
    Number.isFinite(i.at)
  );
}

/**
 * Trains a model from interactions fed oldest first, in as many calls as the caller likes, so a
 * site's history can be read page by page without holding it: baskets and sessions are counted
 * as they close, people's tastes and popularity are running sums.
 *
 * @example
 * const trainer = new ModelTrainer({ ...DEFAULT_TRAIN_OPTIONS, now: Date.now() });
 * for await (const page of store.interactionPages(siteId)) for (const i of page) trainer.add(i);
 * const model = trainer.finish();
 */
export class ModelTrainer {
  private readonly options: TrainOptions;
  private readonly startedAt = performance.now();
  private readonly products = new Interner();
  private readonly people = new Interner();
  private readonly categories: Array<string | null> = [];
  private readonly bought: BoughtTogether;
  private readonly viewed: ViewedTogether;
  private readonly tastes: Tastes;
  private readonly popularity: Popularity;
  private interactions = 0;
  private finished = false;

  constructor(options: TrainSettings) {
    this.options = resolveTrainOptions(options);
    this.bought = new BoughtTogether(this.options);
    this.viewed = new ViewedTogether(this.options);
    this.tastes = new Tastes(this.options, this.products.names);
    this.popularity = new Popularity(this.options);
  }

  /** Counts one interaction; ones without product, person, known kind or time are skipped. */
  add(i: Interaction): void {
    if (this.finished) throw new Error('ModelTrainer: add() after finish()');
    if (!isUsable(i)) return;
    this.interactions++;
    const product = this.products.id(i.productId);
    while (this.categories.length <= product) this.categories.push(null);
    if (i.category) this.categories[product] = i.category;
    this.closeIdleGroups(i.at);
    const group = i.kind === 'order' ? this.bought.add(i, product) : i.kind === 'view' ? this.viewed.add(i, product) : null;
    const person = this.personOf(i, group);
    const { now, kindWeights, recencyHalfLifeDays } = this.options;
    const weight = interactionWeight(i.kind, i.at, now, kindWeights, recencyHalfLifeDays);
    if (weight > 0) this.tastes.add(person, product, weight);
    this.popularity.add(i, product);
  }

  /** The interned id of the interaction's person, from its basket or session when it has one. */
  private personOf(i: Interaction, group: OpenGroup | null): number {
    if (group !== null && group.profileId === i.profileId) return group.person;
    const person = this.people.id(i.profileId);
    if (group !== null) {
      group.profileId = i.profileId;
      group.person = person;
    }
    return person;
  }

  private closeIdleGroups(at: number): void {
    this.bought.baskets.closeIdle(at);
    this.viewed.sessions.closeIdle(at);
  }

  /** The model of everything added; the trainer cannot be used afterwards. */
  finish(): Model {
    if (this.finished) throw new Error('ModelTrainer: finish() called twice');
    this.finished = true;
    const names = this.products.names;
    const boughtTogether = this.bought.finish(names);
    const viewedTogether = this.viewed.finish(names);
    const similar = this.tastes.finish(names.length);
    const { trending, popularByCategory } = this.popularity.finish(names, this.categories);
    const categories: Record<string, string> = {};
    this.categories.forEach((category, product) => {
      if (category) setOwn(categories, names[product], category);
    });
    const coverage = (record: object) => (names.length === 0 ? 0 : Object.keys(record).length / names.length);
    const model: Model = {
      version: MODEL_VERSION,
      trainedAt: this.options.now,
      stats: {
        interactions: this.interactions,
        orders: this.bought.orders,
        sessions: this.viewed.sessionCount,
        people: this.people.size,
        products: names.length,
        coverage: { boughtTogether: coverage(boughtTogether), viewedTogether: coverage(viewedTogether), similar: coverage(similar) },
        trainingMs: 0,
      },
      boughtTogether,
      viewedTogether,
      similar,
      trending,
      popularByCategory,
      categories,
    };
    model.stats.trainingMs = performance.now() - this.startedAt;
    return model;
  }
}

/**
 * Trains a model from interactions in memory (or any iterable, oldest first).
 *
 * @example
 * const model = trainModel(interactions, { ...DEFAULT_TRAIN_OPTIONS, now: Date.now() });
 * model.boughtTogether['p-1']; // [{ productId: 'p-2', count: 12, support: 0.01, confidence: 0.4, lift: 3.1 }, ...]
 */
export function trainModel(interactions: Iterable<Interaction>, options: TrainSettings): Model {
  const trainer = new ModelTrainer(options);
  for (const interaction of interactions) trainer.add(interaction);
  return trainer.finish();
}
