// A simulated shop with planted structure, for the offline evaluation of the recommendation
// models (bench/recommendations.mjs). Deterministic: every draw comes from a seeded PRNG keyed by
// (seed, person, session), so the same options give the same interactions, byte for byte, and a
// person's sessions do not depend on how many other people there are (the first 5,000 people of a
// 50,000-person shop are the 5,000 people of a 5,000-person shop).
//
// The planted structure and its parameters (SHOP_DEFAULTS below):
// - Catalog: 2,000 products in 20 categories. 2 categories are consumables ("coffee", "snacks",
//   100 products each) that are bought again; 200 products are accessories (the B of a planted
//   pair, in the category of its A); the other 1,600 are regular products, 80 in each of 20 taste
//   clusters. A cluster draws 75% of its products from its 2 home categories and 25% from any
//   other, so clusters and categories overlap without being the same thing.
// - Popularity: within a cluster a product's weight is (rank + 1)^-0.9 (Zipf; the ranks are a
//   seeded shuffle); clusters themselves have Zipf(0.7) shares of the people, so some tastes are
//   common and some rare, and the site-wide best sellers are the heads of the big clusters.
// - People: one taste cluster each, 30% a second one (35% of their sessions); 25% are consumable
//   buyers with one favourite consumable product, added to 50% of their orders.
// - Sessions: 1 + geometric, 5 per person on average, each on a uniform day of the 120 and at a
//   uniform time in the day's first 22 hours; a session keeps to one of the person's clusters.
//   Browsing views: 1 + geometric, 2.5 on average; each view is 80% from the session's cluster
//   (Zipf), 12% from the whole shop's regular products by popularity, 8% uniform over all 2,000
//   products. 40% of sessions end in an order of 1 + (40%) + (15%) regular products, 90% from the
//   session's cluster and 10% from the whole shop, never a regular product the person bought
//   before; each bought product is also viewed in the session (at a random place) and carted
//   (90%); 15% of sessions without an order leave a cart behind.
// - Planted complements: 200 pairs A → B, 10 per cluster, A uniform over the cluster's products
//   (so from head to tail: a pair with a rare A has few baskets to be found in); when an order has
//   A, B joins it with probability 0.6 (viewed first half the time). B is otherwise rare: 2% of
//   orders get one accessory at random (Zipf 1.0 over the 200), which also gives B baskets
//   without A. The pairs are the ground truth (`shop.pairs`).
// - Time: 120 days from `start`; the evaluation trains on days 0–99 and tests on days 100–119
//   (`splitDay`); no session straddles the split (sessions start before 22:00 and last minutes).
// Orders per person ≈ 5 × 0.4 = 2 (50,000 people ≈ 100,000 orders), about 1.8 lines per order,
// about 4 views per order line.

export const DAY_MS = 86_400_000;
const DAY_S = 86_400;
/** Sessions start in the first 22 hours of their day, so none runs into the next day. */
const SESSION_WINDOW_S = 22 * 3600;
/** Regular products remembered per person (no second purchase of these); older ones are forgotten. */
const BOUGHT_SLOTS = 16;

export const SHOP_DEFAULTS = Object.freeze({
  seed: 20_240_601,
  products: 2_000,
  categories: 20,
  consumableCategories: 2,
  clusters: 20,
  pairs: 200,
  days: 120,
  splitDay: 100,
  /** Day 0 at 00:00 UTC, ms. A fixed date, so that the figures do not move with the calendar. */
  start: Date.UTC(2025, 0, 1),
  clusterZipf: 0.7,
  productZipf: 0.9,
  clusterHomeShare: 0.75,
  secondClusterShare: 0.3,
  secondClusterSessions: 0.35,
  sessionsMean: 5,
  browseViewsMean: 2.5,
  viewInCluster: 0.8,
  viewGlobal: 0.12,
  conversion: 0.4,
  extraLines: [0.4, 0.15],
  buyInCluster: 0.9,
  cartRate: 0.9,
  abandonedCart: 0.15,
  pairProbability: 0.6,
  complementViewed: 0.5,
  accessoryNoise: 0.02,
  accessoryZipf: 1.0,
  consumableBuyers: 0.25,
  consumableInOrder: 0.5,
  consumableViewed: 0.3,
});

const CATEGORY_NAMES = ['tents', 'sleeping-bags', 'backpacks', 'stoves', 'lamps', 'knives', 'jackets', 'trousers', 'boots', 'socks', 'gloves', 'hats', 'maps', 'books', 'bikes', 'helmets', 'climbing', 'kayaks', 'coffee', 'snacks'];

/** A 32-bit hash of small integers (murmur3's finalizer after each), for seeding. */
export function hash(...values) {
  let h = 0x811c9dc5 ^ values.length;
  for (const v of values) {
    h = Math.imul(h ^ (v | 0), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** mulberry32: a fast seeded PRNG giving floats in [0, 1). */
export function rng(seed) {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** 0, 1, 2, ... with the given mean (geometric on {0, 1, ...}). */
function geometric(r, mean) {
  if (!(mean > 0)) return 0;
  const q = 1 / (mean + 1);
  return Math.floor(Math.log(1 - r()) / Math.log(1 - q));
}

function shuffle(r, array) {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [array[i], array[j]] = [array[j], array[i]];
  }
  return array;
}

/** Draws an item with probability proportional to its weight (binary search over the cumulative sums). */
class Sampler {
  constructor(items, weights) {
    this.items = Int32Array.from(items);
    this.cumulative = new Float64Array(items.length);
    let sum = 0;
    weights.forEach((w, i) => (this.cumulative[i] = sum += w));
    this.total = sum;
  }

  draw(u) {
    const x = u * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo];
  }
}

/** Zipf weights (rank + 1)^-s for `items` in a seeded random rank order. */
function zipfSampler(r, items, s) {
  const ranked = shuffle(r, [...items]);
  return new Sampler(ranked, ranked.map((_, rank) => (rank + 1) ** -s));
}

/**
 * The catalog, the taste clusters and the planted pairs of `options` (SHOP_DEFAULTS filled in).
 * Products are referred to by index; `shop.products[i].id` is the id the models see.
 */
export function makeShop(options = {}) {
  const o = { ...SHOP_DEFAULTS, ...options };
  const r = rng(hash(o.seed, 0xa11));
  const categories = Array.from({ length: o.categories }, (_, i) => (o.categories === CATEGORY_NAMES.length ? CATEGORY_NAMES[i] : `category-${i}`));
  const regularCategories = o.categories - o.consumableCategories;
  const perCategory = Math.round(o.products / o.categories);
  const consumableCount = o.consumableCategories * perCategory;
  const regularCount = o.products - consumableCount - o.pairs;
  if (regularCount < o.clusters * 2) throw new Error('shop: too few regular products for the clusters');
  const width = String(o.products - 1).length;
  const roles = shuffle(r, Array.from({ length: o.products }, (_, i) => i));
  const products = Array.from({ length: o.products }, (_, index) => ({ index, id: `p${String(index).padStart(width, '0')}`, role: 'regular', category: '', cluster: -1, price: 5 + (hash(o.seed, 7, index) % 19_500) / 100 }));
  const consumables = roles.slice(0, consumableCount);
  const accessories = roles.slice(consumableCount, consumableCount + o.pairs);
  const regular = roles.slice(consumableCount + o.pairs);
  consumables.forEach((p, i) => Object.assign(products[p], { role: 'consumable', category: categories[regularCategories + (i % o.consumableCategories)] }));
  accessories.forEach((p) => (products[p].role = 'accessory'));
  const homes = Array.from({ length: o.clusters }, (_, k) => {
    const a = k % regularCategories;
    let b = (k * 7 + 3) % regularCategories;
    if (b === a) b = (a + 1) % regularCategories;
    return [a, b];
  });
  const members = Array.from({ length: o.clusters }, () => []);
  regular.forEach((p, j) => {
    const k = j % o.clusters;
    const category = r() < o.clusterHomeShare ? homes[k][r() < 0.5 ? 0 : 1] : Math.floor(r() * regularCategories);
    Object.assign(products[p], { category: categories[category], cluster: k });
    members[k].push(p);
  });
  for (const p of products) p.name = `${p.category} ${p.id}`;
  const clusterSamplers = members.map((list) => zipfSampler(r, list, o.productZipf));
  const clusterShare = zipfSampler(r, Array.from({ length: o.clusters }, (_, k) => k), o.clusterZipf);
  // Planted pairs: `pairs / clusters` A's per cluster, uniform over its products.
  const complementOf = new Int32Array(o.products).fill(-1);
  const pairs = [];
  for (let i = 0; i < o.pairs; i++) {
    const k = i % o.clusters;
    const candidates = members[k].filter((p) => complementOf[p] < 0);
    const a = candidates[Math.floor(r() * candidates.length)];
    const b = accessories[i];
    complementOf[a] = b;
    products[b].category = products[a].category;
    products[b].name = `${products[b].category} accessory ${products[b].id}`;
    pairs.push({ a, b, from: products[a].id, to: products[b].id, cluster: k });
  }
  const consumableSamplers = Array.from({ length: o.consumableCategories }, (_, c) =>
    zipfSampler(r, consumables.filter((p) => products[p].category === categories[regularCategories + c]), 0.8),
  );
  return {
    options: o,
    categories,
    consumableCategories: categories.slice(regularCategories),
    products,
    members,
    pairs,
    complementOf,
    clusterSamplers,
    clusterShare,
    accessorySampler: zipfSampler(r, accessories, o.accessoryZipf),
    consumableSamplers,
    splitAt: o.start + o.splitDay * DAY_MS,
  };
}

/** A regular product of the whole shop, by popularity: a cluster by its share, then Zipf within it. */
const anyRegular = (shop, r) => shop.clusterSamplers[shop.clusterShare.draw(r())].draw(r());

/** What a person is, from their own seed: clusters, favourite consumable, sessions (start times in s from `start`, ascending). */
export function personOf(shop, p) {
  const o = shop.options;
  const r = rng(hash(o.seed, 1, p));
  const primary = shop.clusterShare.draw(r());
  let secondary = -1;
  if (r() < o.secondClusterShare) {
    for (let t = 0; t < 20 && (secondary < 0 || secondary === primary); t++) secondary = shop.clusterShare.draw(r());
    if (secondary === primary) secondary = (primary + 1) % o.clusters;
  }
  const consumable = r() < o.consumableBuyers ? shop.consumableSamplers[Math.floor(r() * shop.consumableSamplers.length)].draw(r()) : -1;
  const count = 1 + geometric(r, o.sessionsMean - 1);
  const starts = new Float64Array(count);
  for (let k = 0; k < count; k++) starts[k] = Math.floor(r() * o.days) * DAY_S + Math.floor(r() * SESSION_WINDOW_S);
  starts.sort();
  return { primary, secondary, consumable, starts };
}

/**
 * Streams the interactions of `people` people, oldest first, one day at a time: `onDay(events,
 * day)` gets the day's interactions sorted by time (the array is the caller's), and `onSession`
 * (optional) each session as `{ person, k, at, views, order }` (product indices) before its day is
 * delivered. Nothing but the session schedule (12 bytes a session) and each person's last bought
 * products (34 bytes a person) is kept between days, so a million orders stream in bounded memory.
 * Returns the counts: people, sessions, orders, order lines, views, carts, interactions.
 */
export function generate(shop, { people, onDay, onSession = null, days = shop.options.days }) {
  const o = shop.options;
  // Pass 1: each person's attributes, and how many sessions start on each day.
  const primary = new Uint8Array(people);
  const secondary = new Int8Array(people);
  const consumable = new Int16Array(people);
  const perDay = new Int32Array(o.days + 1);
  for (let p = 0; p < people; p++) {
    const person = personOf(shop, p);
    primary[p] = person.primary;
    secondary[p] = person.secondary;
    consumable[p] = person.consumable;
    for (const s of person.starts) perDay[Math.floor(s / DAY_S) + 1]++;
  }
  for (let d = 0; d < o.days; d++) perDay[d + 1] += perDay[d];
  // Pass 2: the schedule, by day: who, which of their sessions, when.
  const total = perDay[o.days];
  const sessionPerson = new Int32Array(total);
  const sessionIndex = new Uint16Array(total);
  const sessionStart = new Int32Array(total);
  const fill = perDay.slice(0, o.days);
  for (let p = 0; p < people; p++) {
    const { starts } = personOf(shop, p);
    starts.forEach((s, k) => {
      const at = fill[Math.floor(s / DAY_S)]++;
      sessionPerson[at] = p;
      sessionIndex[at] = Math.min(k, 65_535);
      sessionStart[at] = s;
    });
  }
  const bought = new Uint16Array(people * BOUGHT_SLOTS);
  const boughtCount = new Uint16Array(people);
  const counts = { people, sessions: 0, orders: 0, orderLines: 0, views: 0, carts: 0, interactions: 0 };
  const state = { shop, primary, secondary, consumable, bought, boughtCount, counts };
  for (let d = 0; d < Math.min(days, o.days); d++) {
    const from = perDay[d];
    const n = perDay[d + 1] - from;
    // The day's sessions by start time (ties by schedule order): start × 2^22 + position.
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = sessionStart[from + i] * 4_194_304 + i;
    keys.sort();
    const events = [];
    for (let i = 0; i < n; i++) {
      const at = from + (keys[i] % 4_194_304);
      const session = makeSession(state, sessionPerson[at], sessionIndex[at], o.start + sessionStart[at] * 1000, events);
      if (onSession) onSession(session);
    }
    events.sort((x, y) => x.at - y.at);
    counts.sessions += n;
    counts.interactions += events.length;
    onDay(events, d);
  }
  return counts;
}

function hasBought(state, p, product) {
  const n = Math.min(state.boughtCount[p], BOUGHT_SLOTS);
  const base = p * BOUGHT_SLOTS;
  for (let i = 0; i < n; i++) if (state.bought[base + i] === product) return true;
  return false;
}

function remember(state, p, product) {
  state.bought[p * BOUGHT_SLOTS + (state.boughtCount[p] % BOUGHT_SLOTS)] = product;
  if (state.boughtCount[p] < 65_535) state.boughtCount[p]++;
}

/** One session of person `p` (their `k`-th), starting at `at` ms: its interactions go to `events`. */
function makeSession(state, p, k, at, events) {
  const { shop, counts } = state;
  const o = shop.options;
  const { products } = shop;
  const r = rng(hash(o.seed, 2, p, k));
  const cluster = state.secondary[p] >= 0 && r() < o.secondClusterSessions ? state.secondary[p] : state.primary[p];
  const inCluster = shop.clusterSamplers[cluster];
  // The order first (what is bought is also viewed in the session).
  let order = null;
  const viewedItems = [];
  if (r() < o.conversion) {
    order = [];
    let lines = 1;
    for (const extra of o.extraLines) if (r() < extra) lines++;
    for (let l = 0; l < lines; l++) {
      for (let attempt = 0; attempt < 10; attempt++) {
        const x = r() < o.buyInCluster ? inCluster.draw(r()) : anyRegular(shop, r);
        if (hasBought(state, p, x) || order.includes(x)) continue;
        order.push(x);
        viewedItems.push(x);
        remember(state, p, x);
        break;
      }
    }
    for (const a of [...order]) {
      const b = shop.complementOf[a];
      if (b >= 0 && r() < o.pairProbability && !order.includes(b)) {
        order.push(b);
        if (r() < o.complementViewed) viewedItems.push(b);
      }
    }
    if (r() < o.accessoryNoise) {
      const x = shop.accessorySampler.draw(r());
      if (!order.includes(x)) order.push(x);
    }
    const c = state.consumable[p];
    if (c >= 0 && r() < o.consumableInOrder && !order.includes(c)) {
      order.push(c);
      if (r() < o.consumableViewed) viewedItems.push(c);
    }
    if (order.length === 0) order = null;
  }
  const views = [];
  const browse = 1 + geometric(r, o.browseViewsMean - 1);
  for (let v = 0; v < browse; v++) {
    const u = r();
    views.push(u < o.viewInCluster ? inCluster.draw(r()) : u < o.viewInCluster + o.viewGlobal ? anyRegular(shop, r) : Math.floor(r() * products.length));
  }
  for (const x of viewedItems) views.splice(Math.floor(r() * (views.length + 1)), 0, x);
  const profileId = `u${p}`;
  const sessionId = `s${p}.${k}`;
  let t = at;
  const push = (product, kind, orderId = null) => {
    const item = products[product];
    events.push({ profileId, productId: item.id, kind, at: t, sessionId, orderId, category: item.category });
  };
  for (const x of views) {
    push(x, 'view');
    t += 15_000 + Math.floor(r() * 105_000);
  }
  counts.views += views.length;
  if (order) {
    for (const x of order) {
      if (r() >= o.cartRate) continue;
      push(x, 'cart');
      counts.carts++;
      t += 10_000 + Math.floor(r() * 30_000);
    }
    t += 60_000;
    const orderId = `o${p}.${k}`;
    for (const x of order) push(x, 'order', orderId);
    counts.orders++;
    counts.orderLines += order.length;
  } else if (r() < o.abandonedCart) {
    push(views[Math.floor(r() * views.length)], 'cart');
    counts.carts++;
  }
  return { person: p, k, at, views, order };
}

/**
 * The evaluation dataset: `people` people over the shop's days, split at `splitDay`.
 * - `train`: every interaction before the split, oldest first (what the models learn from);
 * - `histories[p]`: person p's training interactions, newest first;
 * - `testPurchases[p]`: the product ids person p bought after the split (a Set), or undefined;
 * - `testOrders`: `{ person, items }` of each order after the split (product ids, in basket order);
 * - `testSessions`: `{ person, views }` of each session after the split (product ids viewed, in order);
 * - `counts`: the generator's counts, and the training side's.
 */
export function evaluationData(shop, { people }) {
  const train = [];
  const histories = Array.from({ length: people }, () => []);
  const testPurchases = new Array(people);
  const testOrders = [];
  const testSessions = [];
  const id = (product) => shop.products[product].id;
  const splitAt = shop.splitAt;
  const counts = generate(shop, {
    people,
    onSession(s) {
      if (s.at < splitAt) return;
      testSessions.push({ person: s.person, views: s.views.map(id) });
      if (s.order) {
        const items = s.order.map(id);
        testOrders.push({ person: s.person, items });
        const set = (testPurchases[s.person] ??= new Set());
        for (const x of items) set.add(x);
      }
    },
    onDay(events) {
      for (const e of events) {
        if (e.at >= splitAt) continue;
        train.push(e);
        histories[Number(e.profileId.slice(1))].push(e);
      }
    },
  });
  for (const h of histories) h.reverse();
  const trainOrders = new Set(train.filter((e) => e.kind === 'order').map((e) => e.orderId)).size;
  return { train, histories, testPurchases, testOrders, testSessions, counts: { ...counts, trainInteractions: train.length, trainOrders, testOrders: testOrders.length, testSessions: testSessions.length } };
}
