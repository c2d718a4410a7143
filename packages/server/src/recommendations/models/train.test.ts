import { describe, expect, it } from 'vitest';
import { OpenGroups } from './collections.js';
import { MIN_COMMON_PEOPLE, ModelTrainer, resolveTrainOptions, trainModel, type TrainSettings } from './train.js';
import { DEFAULT_TRAIN_OPTIONS, type Interaction, type Model } from './types.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 2, 1);

/** Settings with no floors, so that each test states the floors it is about. */
const open: TrainSettings = { now: NOW, minSupportCount: 1, minConfidence: 0, minCoViews: 1 };

let orderSeq = 0;
/** One Order Completed: a line per product, all at one time, like the event's products. */
function order(products: string[], opts: { profileId?: string; orderId?: string | null; at?: number; category?: string | null } = {}): Interaction[] {
  const profileId = opts.profileId ?? `buyer-${++orderSeq}`;
  const orderId = opts.orderId === undefined ? `o-${++orderSeq}` : opts.orderId;
  const at = opts.at ?? NOW - DAY;
  return products.map((productId) => ({ profileId, productId, kind: 'order', at, sessionId: null, orderId, category: opts.category ?? null }));
}

function view(profileId: string, productId: string, at: number, sessionId: string | null = `s-${profileId}`, category: string | null = null): Interaction {
  return { profileId, productId, kind: 'view', at, sessionId, orderId: null, category };
}

/** The views of one session, a minute apart. */
function session(sessionId: string, products: string[], start: number, profileId = `visitor-${sessionId}`): Interaction[] {
  return products.map((productId, k) => view(profileId, productId, start + k * 60_000, sessionId));
}

const ids = (list: Array<{ productId: string }> | undefined) => (list ?? []).map((n) => n.productId);

describe('bought together', () => {
  /**
   * Ten orders, one a day (so baskets close as the stream moves on):
   *   o1 {a,b}  o2 {a,b}  o3 {a,b,c}  o4 {a,c}  o5 {b}  o6 {c,d}  o7 {c,d}  o8 {d}  o9 {e}  o10 {a,e}
   * Orders with a: o1 o2 o3 o4 o10 = 5; with b: o1 o2 o3 o5 = 4; with c: o3 o4 o6 o7 = 4;
   * with d: o6 o7 o8 = 3; with e: o9 o10 = 2. Pairs: a-b 3, a-c 2, c-d 2, b-c 1, a-e 1.
   */
  const baskets = [['a', 'b'], ['a', 'b'], ['a', 'b', 'c'], ['a', 'c'], ['b'], ['c', 'd'], ['c', 'd'], ['d'], ['e'], ['a', 'e']];
  const interactions = baskets.flatMap((products, k) => order(products, { at: NOW - (20 - k) * DAY }));

  it('computes support, confidence and lift of each direction', () => {
    const model = trainModel(interactions, { ...open, minSupportCount: 2 });
    expect(model.stats.orders).toBe(10);
    // a→b: support 3/10 = 0.3; confidence 3/5 = 0.6; P(b) = 4/10, lift 0.6 / 0.4 = 1.5.
    // a→c: support 2/10 = 0.2; confidence 2/5 = 0.4; P(c) = 4/10, lift 0.4 / 0.4 = 1.
    const [ab, ac] = model.boughtTogether.a;
    expect(ab).toMatchObject({ productId: 'b', count: 3 });
    expect(ab.support).toBeCloseTo(0.3, 12);
    expect(ab.confidence).toBeCloseTo(0.6, 12);
    expect(ab.lift).toBeCloseTo(1.5, 12);
    expect(ac).toMatchObject({ productId: 'c', count: 2 });
    expect(ac.support).toBeCloseTo(0.2, 12);
    expect(ac.confidence).toBeCloseTo(0.4, 12);
    expect(ac.lift).toBeCloseTo(1, 12);
    // b→a: confidence 3/4 = 0.75; P(a) = 5/10; lift 0.75 / 0.5 = 1.5 (lift is symmetric).
    expect(model.boughtTogether.b).toHaveLength(1);
    expect(model.boughtTogether.b[0].confidence).toBeCloseTo(0.75, 12);
    expect(model.boughtTogether.b[0].lift).toBeCloseTo(1.5, 12);
    // c→d: confidence 2/4 = 0.5, P(d) = 3/10, lift 0.5 / 0.3 = 5/3, ranked above c→a (lift 0.5 / 0.5 = 1).
    expect(ids(model.boughtTogether.c)).toEqual(['d', 'a']);
    expect(model.boughtTogether.c[0].lift).toBeCloseTo(5 / 3, 12);
    // d→c: confidence 2/3, P(c) = 4/10, lift (2/3) / 0.4 = 5/3.
    expect(model.boughtTogether.d[0].confidence).toBeCloseTo(2 / 3, 12);
    expect(model.boughtTogether.d[0].lift).toBeCloseTo(5 / 3, 12);
  });

  it('drops pairs under the support count floor', () => {
    // b-c (o3) and a-e (o10) are in one order each: below 2, gone; e has no neighbour left.
    const model = trainModel(interactions, { ...open, minSupportCount: 2 });
    expect(ids(model.boughtTogether.b)).toEqual(['a']);
    expect(model.boughtTogether.e).toBeUndefined();
    expect(ids(model.boughtTogether.a)).not.toContain('e');
    // With a floor of 1 they are back: b→c has confidence 1/4, lift 0.25 / 0.4 = 0.625.
    const loose = trainModel(interactions, { ...open, minSupportCount: 1 });
    expect(ids(loose.boughtTogether.b)).toEqual(['a', 'c']);
    expect(loose.boughtTogether.b[1].lift).toBeCloseTo(0.625, 12);
    // e→a: confidence 1/2, P(a) = 0.5, lift 1.
    expect(ids(loose.boughtTogether.e)).toEqual(['a']);
    // A floor of 4 leaves no pair at all.
    expect(trainModel(interactions, { ...open, minSupportCount: 4 }).boughtTogether).toEqual({});
  });

  it('drops directions under the confidence floor, keeping the other direction', () => {
    // a→c has confidence 0.4 < 0.45: gone; c→a has 0.5: kept.
    const model = trainModel(interactions, { ...open, minSupportCount: 2, minConfidence: 0.45 });
    expect(ids(model.boughtTogether.a)).toEqual(['b']);
    expect(ids(model.boughtTogether.c)).toEqual(['d', 'a']);
  });

  /**
   * Orders: 4 × {x,y}, 2 × {x,z}, 2 × {x,w}, 4 × {y}, 2 × {z}, 2 × {w}: 16 orders.
   * x is in 8, y in 8, z in 4, w in 4.
   * x→y: confidence 4/8 = 0.5, P(y) = 8/16, lift 1; x→z: 2/8 = 0.25, P(z) = 4/16, lift 1; x→w: likewise.
   * Equal lifts: y first by count (4 against 2), then w before z by id. z is fed before w, so the
   * order cannot come from the input.
   */
  const ties = [
    ...Array.from({ length: 4 }, () => ['x', 'y']),
    ...Array.from({ length: 2 }, () => ['x', 'z']),
    ...Array.from({ length: 2 }, () => ['x', 'w']),
    ...Array.from({ length: 4 }, () => ['y']),
    ...Array.from({ length: 2 }, () => ['z']),
    ...Array.from({ length: 2 }, () => ['w']),
  ].flatMap((products, k) => order(products, { at: NOW - (30 - k) * DAY }));

  it('orders neighbours by lift, then count, then id, keeping the top N', () => {
    const model = trainModel(ties, open);
    expect(model.boughtTogether.x.map((a) => [a.productId, a.lift, a.count])).toEqual([
      ['y', 1, 4],
      ['w', 1, 2],
      ['z', 1, 2],
    ]);
    expect(ids(trainModel(ties, { ...open, topN: 2 }).boughtTogether.x)).toEqual(['y', 'w']);
  });

  it('groups lines into baskets by person and order, distinct products, however the lines interleave', () => {
    const at = NOW - DAY;
    const lines: Interaction[] = [
      ...order(['a'], { profileId: 'p1', orderId: 'o-1', at }),
      ...order(['b'], { profileId: 'p2', orderId: 'o-1', at }), // another person's order 'o-1'
      ...order(['b', 'b'], { profileId: 'p1', orderId: 'o-1', at }), // a repeated line counts once
      // Orders without id: one basket per person and time.
      ...order(['c', 'd'], { profileId: 'p3', orderId: null, at }),
      ...order(['e'], { profileId: 'p3', orderId: null, at: at + 1000 }),
    ];
    const model = trainModel(lines, open);
    // Baskets: p1/o-1 {a,b}, p2/o-1 {b}, p3@at {c,d}, p3@at+1s {e}: 4 orders.
    expect(model.stats.orders).toBe(4);
    // a→b: confidence 1/1, P(b) = 2/4, lift 2.
    expect(model.boughtTogether.a).toEqual([{ productId: 'b', count: 1, support: 0.25, confidence: 1, lift: 2 }]);
    expect(ids(model.boughtTogether.c)).toEqual(['d']);
    expect(model.boughtTogether.e).toBeUndefined();
  });
});

describe('viewed together', () => {
  /**
   * Sessions, an hour apart: s1 {a,b,c}, s2 {a,b}, s3 {a,b,d}, s4 {c,d}, s5 {c,d}, s6 {a} (a
   * viewed twice). Views without a session (a and c) form no session.
   * Sessions with a: 4, b: 3, c: 3, d: 3. Co-views: a-b 3, c-d 2, a-c 1, b-c 1, a-d 1, b-d 1.
   */
  const sessions = [
    session('s1', ['a', 'b', 'c'], NOW - 10 * DAY),
    session('s2', ['a', 'b'], NOW - 9 * DAY),
    session('s3', ['a', 'b', 'd'], NOW - 8 * DAY),
    session('s4', ['c', 'd'], NOW - 7 * DAY),
    session('s5', ['c', 'd'], NOW - 6 * DAY),
    session('s6', ['a', 'a'], NOW - 5 * DAY),
    [view('lost', 'a', NOW - 4 * DAY, null), view('lost', 'c', NOW - 4 * DAY + 1000, null)],
  ].flat();

  it('scores co-viewed pairs by cosine over sessions, above the co-view floor', () => {
    const model = trainModel(sessions, { ...open, minCoViews: 2 });
    expect(model.stats.sessions).toBe(6);
    // a-b: 3 / sqrt(4 × 3) = 0.866; c-d: 2 / sqrt(3 × 3) = 0.667; every other pair is in 1 session.
    expect(model.viewedTogether.a).toEqual([{ productId: 'b', score: 3 / Math.sqrt(12), count: 3 }]);
    expect(model.viewedTogether.b).toEqual([{ productId: 'a', score: 3 / Math.sqrt(12), count: 3 }]);
    expect(model.viewedTogether.c).toEqual([{ productId: 'd', score: 2 / 3, count: 2 }]);
    expect(ids(model.viewedTogether.d)).toEqual(['c']);
  });

  it('ranks every co-viewed pair without a floor', () => {
    const model = trainModel(sessions, { ...open, minCoViews: 1 });
    // c: d 2/3, then a and b at 1 / sqrt(4 × 3) = 0.289 and 1 / sqrt(3 × 3) = 0.333: d, b, a.
    expect(ids(model.viewedTogether.c)).toEqual(['d', 'b', 'a']);
    expect(model.viewedTogether.c[2].score).toBeCloseTo(1 / Math.sqrt(12), 12);
  });

  it('keeps the newest distinct products of a session', () => {
    // Views p1 p2 p3 p1 p4 with 3 kept: p3, p1, p4 (p1's second view makes it newer than p2).
    const twice = ['t1', 't2'].flatMap((id, k) => session(id, ['p1', 'p2', 'p3', 'p1', 'p4'], NOW - (k + 1) * DAY));
    const model = trainModel(twice, { ...open, minCoViews: 2, maxItemsPerGroup: 3 });
    expect(model.viewedTogether.p2).toBeUndefined();
    expect(ids(model.viewedTogether.p1)).toEqual(['p3', 'p4']);
    // Each of p1, p3, p4 in both sessions: 2 / sqrt(2 × 2) = 1.
    expect(model.viewedTogether.p1[0]).toEqual({ productId: 'p3', score: 1, count: 2 });
  });

  it('counts a session whose views interleave with others as one session', () => {
    const start = NOW - DAY;
    const interleaved = [
      view('u1', 'a', start, 's-x'),
      view('u2', 'c', start + 1000, 's-y'),
      view('u1', 'b', start + 2000, 's-x'),
      view('u2', 'd', start + 3000, 's-y'),
      view('u1', 'a', start + 20 * 60_000, 's-x'),
    ];
    const model = trainModel(interleaved, open);
    expect(model.stats.sessions).toBe(2);
    expect(model.viewedTogether.a).toEqual([{ productId: 'b', score: 1, count: 1 }]);
    expect(ids(model.viewedTogether.c)).toEqual(['d']);
  });
});

describe('similar (item-based collaborative filtering)', () => {
  /**
   * Two tastes: u1..u4 view a, b and c; v1..v4 view x, y and z; one person, n1, views a and x.
   * All today, views weigh 1, so every weight is 1.
   */
  const clusters = [
    ...['u1', 'u2', 'u3', 'u4'].flatMap((p) => ['a', 'b', 'c'].map((id) => view(p, id, NOW))),
    ...['v1', 'v2', 'v3', 'v4'].flatMap((p) => ['x', 'y', 'z'].map((id) => view(p, id, NOW))),
    view('n1', 'a', NOW),
    view('n1', 'x', NOW),
  ];

  it('finds the neighbours of each taste, not across them', () => {
    const model = trainModel(clusters, open);
    // a: 5 people (norm √5), b: 4 (norm 2), 4 in common: 4 / (√5 × 2) = 0.894.
    // b-c: 4 / (2 × 2) = 1, so c ranks b first.
    expect(model.similar.a).toEqual([
      { productId: 'b', score: 4 / (Math.sqrt(5) * 2), count: 4 },
      { productId: 'c', score: 4 / (Math.sqrt(5) * 2), count: 4 },
    ]);
    expect(ids(model.similar.c)).toEqual(['b', 'a']);
    expect(ids(model.similar.x)).toEqual(['y', 'z']);
  });

  it(`ignores pairs of fewer than ${MIN_COMMON_PEOPLE} people`, () => {
    // a-x: one person (n1): noise, though its cosine (1 / (√5 × √5) = 0.2) is not nothing.
    expect(MIN_COMMON_PEOPLE).toBe(2);
    const model = trainModel(clusters, open);
    expect(ids(model.similar.a)).not.toContain('x');
    expect(ids(model.similar.x)).not.toContain('a');
    // A second person with a and x makes the pair: 2 / (√6 × √6) = 1/3.
    const more = trainModel([...clusters, view('n2', 'a', NOW), view('n2', 'x', NOW)], open);
    const ax = more.similar.a.find((n) => n.productId === 'x');
    expect(ax?.count).toBe(2);
    expect(ax?.score).toBeCloseTo(1 / 3, 12);
  });

  it('weighs interactions by kind and recency', () => {
    // p: views a today (1) and buys b today (5); q: views a and b 30 days ago (half-life 30: 0.5 each).
    // a = (p 1, q 0.5), b = (p 5, q 0.5): dot 5 + 0.25 = 5.25, |a| = √1.25, |b| = √25.25.
    const model = trainModel(
      [
        view('q', 'a', NOW - 30 * DAY),
        view('q', 'b', NOW - 30 * DAY),
        view('p', 'a', NOW),
        ...order(['b'], { profileId: 'p', at: NOW }),
      ],
      open,
    );
    expect(model.similar.a[0].productId).toBe('b');
    expect(model.similar.a[0].count).toBe(2);
    expect(model.similar.a[0].score).toBeCloseTo(5.25 / Math.sqrt(1.25 * 25.25), 12);
  });

  it("keeps each person's heaviest products only", () => {
    // With 2 products per person, r's light view of c (1, against 5 for the orders) is left out,
    // so the pair a-c has one person in common and is dropped; a-b keeps its two.
    const people = ['r', 's'].flatMap((p) => [view(p, 'c', NOW - 60 * DAY), ...order(['a', 'b'], { profileId: p, at: NOW })]);
    const model = trainModel(people, { ...open, maxItemsPerGroup: 2 });
    expect(ids(model.similar.a)).toEqual(['b']);
    const all = trainModel(people, open);
    expect(ids(all.similar.a)).toEqual(['b', 'c']);
  });
});

describe('trending', () => {
  it('decays popularity: many old views rank below a few recent ones', () => {
    const interactions = [
      // 10 views 28 days ago: 4 half-lives of 7 days, 10 / 16 = 0.625.
      ...Array.from({ length: 10 }, (_, k) => view(`old-${k}`, 'old', NOW - 28 * DAY, null, 'shoes')),
      // 2 views today: 2.
      view('new-1', 'new', NOW, null, 'shoes'),
      view('new-2', 'new', NOW, null, 'shoes'),
      // 1 add to cart 7 days ago: 3 × 0.5 = 1.5, in another category.
      { ...view('c-1', 'bag', NOW - 7 * DAY, null, 'bags'), kind: 'cart' as const },
    ];
    const model = trainModel(interactions, open);
    expect(model.trending.map((r) => r.productId)).toEqual(['new', 'bag', 'old']);
    expect(model.trending[0].score).toBeCloseTo(2, 12);
    expect(model.trending[1].score).toBeCloseTo(1.5, 12);
    expect(model.trending[2].score).toBeCloseTo(0.625, 12);
    expect(model.popularByCategory.shoes.map((r) => r.productId)).toEqual(['new', 'old']);
    expect(model.popularByCategory.bags).toEqual([{ productId: 'bag', score: 1.5 }]);
    expect(model.categories).toEqual({ old: 'shoes', new: 'shoes', bag: 'bags' });
    expect(trainModel(interactions, { ...open, popularN: 1 }).trending).toEqual([{ productId: 'new', score: 2 }]);
  });

  it("credits an interaction to its own category, and one without category to the product's last", () => {
    const model = trainModel(
      [
        view('u1', 'p', NOW, null, 'summer'),
        view('u2', 'p', NOW, null, 'sale'),
        view('u3', 'p', NOW, null, null),
        view('u4', 'p', NOW, null, 'sale'),
      ],
      open,
    );
    // summer: 1 view; sale: 2 views plus the uncategorized one (p's last category is sale).
    expect(model.popularByCategory.summer).toEqual([{ productId: 'p', score: 1 }]);
    expect(model.popularByCategory.sale).toEqual([{ productId: 'p', score: 3 }]);
    expect(model.categories).toEqual({ p: 'sale' });
    expect(model.trending).toEqual([{ productId: 'p', score: 4 }]);
  });
});

describe('ModelTrainer', () => {
  const mixed = [
    ...session('s1', ['a', 'b'], NOW - 3 * DAY, 'u1'),
    ...order(['a', 'b'], { profileId: 'u1', at: NOW - 3 * DAY + 300_000 }),
    ...session('s2', ['a', 'b', 'c'], NOW - 2 * DAY, 'u2'),
    ...order(['a', 'b'], { profileId: 'u2', at: NOW - 2 * DAY + 300_000 }),
    ...session('s3', ['c'], NOW - DAY, 'u3'),
  ];

  it('gives the same model fed page by page as all at once', () => {
    const trainer = new ModelTrainer({ ...DEFAULT_TRAIN_OPTIONS, ...open });
    for (let k = 0; k < mixed.length; k += 3) mixed.slice(k, k + 3).forEach((i) => trainer.add(i));
    const paged = trainer.finish();
    const whole = trainModel(mixed, open);
    const withoutTime = (m: Model) => ({ ...m, stats: { ...m.stats, trainingMs: 0 } });
    expect(withoutTime(paged)).toEqual(withoutTime(whole));
  });

  it('reports its figures', () => {
    const model = trainModel([...mixed, { ...view('u9', '', NOW), productId: '' }, { ...view('u9', 'a', NOW), kind: 'like' as never }], open);
    expect(model.version).toBe(1);
    expect(model.trainedAt).toBe(NOW);
    // The interaction without product and the one of an unknown kind are skipped.
    expect(model.stats).toMatchObject({ interactions: 10, orders: 2, sessions: 3, people: 3, products: 3 });
    // Bought together: a and b of 3 products. Viewed together: all 3 (c with a and b in s2).
    // Similar: a and b (u1 and u2 have both); c shares only u2 with each, below 2 people.
    expect(model.stats.coverage.boughtTogether).toBeCloseTo(2 / 3, 12);
    expect(model.stats.coverage.viewedTogether).toBe(1);
    expect(model.stats.coverage.similar).toBeCloseTo(2 / 3, 12);
    expect(model.stats.trainingMs).toBeGreaterThanOrEqual(0);
  });

  it('keeps ids that are special to JavaScript objects as plain keys', () => {
    const model = trainModel([...order(['__proto__', 'constructor'], { profileId: 'u1' }), ...order(['__proto__', 'constructor'], { profileId: 'u2' })], open);
    expect(Object.getPrototypeOf(model.boughtTogether)).toBe(Object.prototype);
    expect(Object.keys(model.boughtTogether).sort()).toEqual(['__proto__', 'constructor']);
    expect(ids(Object.getOwnPropertyDescriptor(model.boughtTogether, '__proto__')?.value)).toEqual(['constructor']);
  });

  it('can be finished once only', () => {
    const trainer = new ModelTrainer({ now: NOW });
    trainer.finish();
    expect(() => trainer.finish()).toThrow();
    expect(() => trainer.add(view('u', 'a', NOW))).toThrow();
  });

  it('trains an empty model from nothing', () => {
    const model = trainModel([], { now: NOW });
    expect(model).toMatchObject({ boughtTogether: {}, viewedTogether: {}, similar: {}, trending: [], popularByCategory: {}, categories: {} });
    expect(model.stats).toMatchObject({ interactions: 0, products: 0, coverage: { boughtTogether: 0, viewedTogether: 0, similar: 0 } });
  });
});

describe('streaming', () => {
  it('closes groups once idle, so memory holds only recent baskets and sessions', () => {
    const closed: number[][] = [];
    const groups = new OpenGroups(60_000, (items) => closed.push(items));
    groups.touch('s1', 0).items.push(1);
    groups.touch('s2', 10_000).items.push(2);
    groups.touch('s1', 50_000).items.push(3); // s1 touched again
    groups.closeIdle(100_000); // s2 idle 90 s: closed; s1 idle 50 s: open
    expect(closed).toEqual([[2]]);
    expect(groups.size).toBe(1);
    // Walks come every quarter of the idle time (15 s): at 111 s s1 is idle 61 s but no walk is due.
    groups.closeIdle(111_000);
    expect(groups.size).toBe(1);
    groups.closeIdle(115_000);
    expect(closed).toEqual([[2], [1, 3]]);
    expect(groups.size).toBe(0);
  });

  it('fills in default options, ignoring ones set to undefined', () => {
    const options = resolveTrainOptions({ now: NOW, topN: 5, minCoViews: undefined, kindWeights: { view: 2 } as never });
    expect(options).toEqual({ ...DEFAULT_TRAIN_OPTIONS, now: NOW, topN: 5, kindWeights: { view: 2, cart: 3, order: 5 } });
  });
});
