import { describe, expect, it } from 'vitest';
import { parseModel, serializeModel } from './json.js';
import { recommend } from './recommend.js';
import { trainModel } from './train.js';
import type { Interaction, InteractionKind, Model, RecommendRequest } from './types.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 2, 1);

const stats = { interactions: 0, orders: 0, sessions: 0, people: 0, products: 0, coverage: { boughtTogether: 0, viewedTogether: 0, similar: 0 }, trainingMs: 0 };
const ranked = (...ids: string[]) => ids.map((productId, k) => ({ productId, score: 100 - k }));

/** A model written by hand, so that each answer below follows from the lists as written. */
const model: Model = {
  version: 1,
  trainedAt: NOW,
  stats,
  boughtTogether: {
    p1: [
      { productId: 'p2', count: 6, support: 0.06, confidence: 0.6, lift: 3 },
      { productId: 'p3', count: 4, support: 0.04, confidence: 0.4, lift: 2 },
      { productId: 'p1', count: 4, support: 0.04, confidence: 0.4, lift: 1.8 },
      { productId: 'p4', count: 3, support: 0.03, confidence: 0.3, lift: 1.5 },
    ],
  },
  viewedTogether: {
    p1: [
      { productId: 'p5', score: 0.9, count: 9 },
      { productId: 'p6', score: 0.4, count: 3 },
    ],
  },
  similar: {
    a: [
      { productId: 'b', score: 0.9, count: 5 },
      { productId: 'c', score: 0.5, count: 5 },
    ],
    b: [
      { productId: 'a', score: 0.9, count: 5 },
      { productId: 'c', score: 0.8, count: 5 },
    ],
    c: [
      { productId: 'b', score: 0.8, count: 5 },
      { productId: 'a', score: 0.5, count: 5 },
    ],
    k1: [{ productId: 'target', score: 0.1, count: 2 }],
    k2: [{ productId: 'target', score: 0.4, count: 2 }],
    k3: [{ productId: 'target', score: 0.2, count: 2 }],
    k4: [{ productId: 'target', score: 0.3, count: 2 }],
    old: [{ productId: 'forgotten', score: 1, count: 2 }],
  },
  trending: ranked('t1', 't2', 'p1', 's1', 't3'),
  popularByCategory: { shoes: ranked('s1', 's2', 't1'), coffee: ranked('beans') },
  categories: { a: 'shoes', b: 'coffee', c: 'shoes', s1: 'shoes', s2: 'shoes', beans: 'coffee', shoe: 'shoes' },
};

function request(over: Partial<RecommendRequest>): RecommendRequest {
  return { strategy: 'trending', history: [], limit: 10, isAvailable: () => true, boughtAgainCategories: [], now: NOW, ...over };
}

function did(kind: InteractionKind, productId: string, daysAgo: number): Interaction {
  return { profileId: 'me', productId, kind, at: NOW - daysAgo * DAY, sessionId: null, orderId: null, category: null };
}

const ids = (list: Array<{ productId: string }>) => list.map((r) => r.productId);

describe('bought together and viewed together', () => {
  it("answers the page product's neighbours by lift, with their figures", () => {
    const out = recommend(model, request({ strategy: 'bought-together', productId: 'p1' }));
    // p1 itself (a broken list naming it) never comes back.
    expect(out).toEqual([
      { productId: 'p2', score: 3, reason: { kind: 'bought-together', with: 'p1', lift: 3, confidence: 0.6 } },
      { productId: 'p3', score: 2, reason: { kind: 'bought-together', with: 'p1', lift: 2, confidence: 0.4 } },
      { productId: 'p4', score: 1.5, reason: { kind: 'bought-together', with: 'p1', lift: 1.5, confidence: 0.3 } },
    ]);
  });

  it('leaves out unavailable products and respects the limit', () => {
    expect(ids(recommend(model, request({ strategy: 'bought-together', productId: 'p1', isAvailable: (id) => id !== 'p2' })))).toEqual(['p3', 'p4']);
    expect(ids(recommend(model, request({ strategy: 'bought-together', productId: 'p1', limit: 1 })))).toEqual(['p2']);
  });

  it('answers co-viewed products with their sessions', () => {
    expect(recommend(model, request({ strategy: 'viewed-together', productId: 'p1' }))).toEqual([
      { productId: 'p5', score: 0.9, reason: { kind: 'viewed-together', with: 'p1', sessions: 9 } },
      { productId: 'p6', score: 0.4, reason: { kind: 'viewed-together', with: 'p1', sessions: 3 } },
    ]);
  });

  it('answers nothing without a product, or for a product the model does not know', () => {
    expect(recommend(model, request({ strategy: 'bought-together' }))).toEqual([]);
    expect(recommend(model, request({ strategy: 'viewed-together', productId: 'unknown' }))).toEqual([]);
    // Names of Object.prototype's members are product ids like any other.
    expect(recommend(model, request({ strategy: 'bought-together', productId: 'constructor' }))).toEqual([]);
    expect(recommend(model, request({ strategy: 'for-you', history: [did('view', 'toString', 0)], limit: 2 })).map((r) => r.reason.kind)).toEqual(['trending', 'trending']);
  });
});

describe('for you', () => {
  it('scores products similar to the history, naming the strongest contributors', () => {
    // History (newest first): view k1 now, then k2, k3, k4 a day ago, all views (weight 1, half-life 30 days).
    // target = w(k1)·0.1 + w(k2)·0.4 + w(k3)·0.2 + w(k4)·0.3; k1 is the newest: left out itself, it still counts.
    const history = [did('view', 'k1', 0), did('view', 'k2', 1), did('view', 'k3', 1), did('view', 'k4', 1)];
    const [first] = recommend(model, request({ strategy: 'for-you', history, limit: 1 }));
    const dayOld = Math.pow(0.5, 1 / 30);
    expect(first.productId).toBe('target');
    expect(first.score).toBeCloseTo(0.1 + dayOld * (0.4 + 0.2 + 0.3), 12);
    expect(first.reason).toEqual({ kind: 'similar', to: ['k2', 'k4', 'k3'] });
  });

  it('weighs history by the kind weights and half-life of the request', () => {
    // k1 viewed and k2 bought, both 10 days ago (one half-life): w(k1) = 10 × 0.5 = 5, w(k2) = 1 × 0.5.
    // target = 5 × 0.1 + 0.5 × 0.4 = 0.5 + 0.2, k1 contributing most (with the defaults, k2 would).
    const history = [did('view', 'now', 0), did('view', 'k1', 10), did('order', 'k2', 10)];
    const [first] = recommend(model, request({ strategy: 'for-you', history, limit: 1, kindWeights: { view: 10, cart: 1, order: 1 }, recencyHalfLifeDays: 10 }));
    expect(first.score).toBeCloseTo(0.7, 12);
    expect(first.reason).toEqual({ kind: 'similar', to: ['k1', 'k2'] });
  });

  it('uses the newest 50 interactions only', () => {
    const history = [...Array.from({ length: 50 }, () => did('view', 'k1', 0)), did('view', 'old', 1)];
    expect(ids(recommend(model, request({ strategy: 'for-you', history, limit: 50 })))).not.toContain('forgotten');
    expect(ids(recommend(model, request({ strategy: 'for-you', history: history.slice(49), limit: 50 })))).toContain('forgotten');
  });

  it('leaves out what the person bought, unless its category is bought again, and their newest product', () => {
    // a (shoes) viewed now; b (coffee) and c (shoes) bought before. Similar to them: a, b, c.
    const history = [did('view', 'a', 0), did('order', 'b', 3), did('order', 'c', 3)];
    const similar = (boughtAgainCategories: string[]) =>
      recommend(model, request({ strategy: 'for-you', history, boughtAgainCategories }))
        .filter((r) => r.reason.kind === 'similar')
        .map((r) => r.productId);
    expect(similar([])).toEqual([]);
    expect(similar(['coffee'])).toEqual(['b']);
    expect(similar(['coffee', 'shoes'])).toEqual(['b', 'c']);
  });

  it('fills up with popularity in the category of the newest product, then trending', () => {
    // a's category is shoes: s1 s2 t1 by shoe popularity, then t2 p1 t3 by trending (t1 and s1 once).
    const out = recommend(model, request({ strategy: 'for-you', history: [did('view', 'a', 0), did('order', 'b', 1), did('order', 'c', 1)] }));
    expect(out.map((r) => [r.productId, r.reason.kind])).toEqual([
      ['s1', 'popular-in-category'],
      ['s2', 'popular-in-category'],
      ['t1', 'popular-in-category'],
      ['t2', 'trending'],
      ['p1', 'trending'],
      ['t3', 'trending'],
    ]);
    expect(out[0].reason).toEqual({ kind: 'popular-in-category', category: 'shoes' });
  });

  it("falls back to the request's category, then trending, for a new visitor", () => {
    const out = recommend(model, request({ strategy: 'for-you', history: [], category: 'coffee', limit: 3 }));
    expect(out).toEqual([
      { productId: 'beans', score: 100, reason: { kind: 'popular-in-category', category: 'coffee' } },
      { productId: 't1', score: 100, reason: { kind: 'trending' } },
      { productId: 't2', score: 99, reason: { kind: 'trending' } },
    ]);
    expect(ids(recommend(model, request({ strategy: 'for-you', history: [], limit: 2 })))).toEqual(['t1', 't2']);
  });
});

describe('trending', () => {
  it('answers site-wide popularity, or the category first', () => {
    expect(ids(recommend(model, request({ strategy: 'trending' })))).toEqual(['t1', 't2', 'p1', 's1', 't3']);
    expect(ids(recommend(model, request({ strategy: 'trending', category: 'shoes' })))).toEqual(['s1', 's2', 't1', 't2', 'p1', 't3']);
    expect(ids(recommend(model, request({ strategy: 'trending', category: 'unknown', limit: 2 })))).toEqual(['t1', 't2']);
  });

  it("never answers the page's product or an unavailable one", () => {
    const out = recommend(model, request({ strategy: 'trending', productId: 'p1', isAvailable: (id) => id !== 't2' }));
    expect(ids(out)).toEqual(['t1', 's1', 't3']);
  });

  it('clamps the limit to 1..50', () => {
    const many: Model = { ...model, trending: ranked(...Array.from({ length: 60 }, (_, k) => `m${k}`)) };
    expect(recommend(many, request({ limit: 500 }))).toHaveLength(50);
    expect(recommend(many, request({ limit: 0 }))).toHaveLength(1);
    expect(recommend(many, request({ limit: Number.NaN }))).toHaveLength(1);
    expect(recommend(many, request({ limit: 2.7 }))).toHaveLength(2);
  });

  it('orders each source by score even when a stored list is not', () => {
    const shuffled: Model = { ...model, trending: [{ productId: 'lo', score: 1 }, { productId: 'hi', score: 5 }, { productId: 'mid', score: 3 }] };
    expect(ids(recommend(shuffled, request({})))).toEqual(['hi', 'mid', 'lo']);
  });
});

describe('a trained model, end to end', () => {
  // Two tastes: four people view a, b and c, four view x, y and z; one person views a and x.
  const views = [
    ...['u1', 'u2', 'u3', 'u4'].flatMap((p) => ['a', 'b', 'c'].map((id) => ({ ...did('view', id, 1), profileId: p }))),
    ...['v1', 'v2', 'v3', 'v4'].flatMap((p) => ['x', 'y', 'z'].map((id) => ({ ...did('view', id, 1), profileId: p }))),
    { ...did('view', 'a', 1), profileId: 'n1' },
    { ...did('view', 'x', 1), profileId: 'n1' },
  ];
  const trained = trainModel(views, { now: NOW });

  it('recommends the same taste to a person who viewed a', () => {
    const out = recommend(trained, request({ strategy: 'for-you', history: [did('view', 'a', 0)], limit: 2 }));
    expect(ids(out).sort()).toEqual(['b', 'c']);
    expect(out.every((r) => r.reason.kind === 'similar')).toBe(true);
    const more = recommend(trained, request({ strategy: 'for-you', history: [did('view', 'a', 0)], limit: 10 }));
    expect(more.filter((r) => r.reason.kind === 'similar').map((r) => r.productId)).not.toContain('x');
  });

  it('survives a serialize / parse round trip', () => {
    const parsed = parseModel(serializeModel(trained));
    expect(parsed).toEqual(trained);
    expect(recommend(parsed!, request({ strategy: 'for-you', history: [did('view', 'a', 0)], limit: 2 }))).toEqual(
      recommend(trained, request({ strategy: 'for-you', history: [did('view', 'a', 0)], limit: 2 })),
    );
  });
});

describe('parseModel', () => {
  it('reads back a model with any product ids', () => {
    const special = trainModel(
      [
        { ...did('order', '__proto__', 1), profileId: 'u1', orderId: 'o1' },
        { ...did('order', 'x', 1), profileId: 'u1', orderId: 'o1' },
        { ...did('order', '__proto__', 1), profileId: 'u2', orderId: 'o2' },
        { ...did('order', 'x', 1), profileId: 'u2', orderId: 'o2' },
      ],
      { now: NOW },
    );
    const parsed = parseModel(serializeModel(special))!;
    expect(ids(recommend(parsed, request({ strategy: 'bought-together', productId: '__proto__' })))).toEqual(['x']);
    expect(ids(recommend(parsed, request({ strategy: 'bought-together', productId: 'x' })))).toEqual(['__proto__']);
  });

  it.each([
    ['not JSON', 'garbage'],
    ['empty', ''],
    ['null', 'null'],
    ['an array', '[]'],
    ['another version', serializeModel({ ...model, version: 2 as never })],
    ['a missing list', JSON.stringify({ ...model, similar: undefined })],
    ['a broken association', JSON.stringify({ ...model, boughtTogether: { p1: [{ productId: 'p2', count: 1, support: 0.1, confidence: 0.5 }] } })],
    ['a score that is text', JSON.stringify({ ...model, trending: [{ productId: 't1', score: '9' }] })],
    ['a category that is a number', JSON.stringify({ ...model, categories: { a: 1 } })],
    ['missing stats', JSON.stringify({ ...model, stats: { ...stats, coverage: undefined } })],
  ])('answers null for %s', (_, json) => {
    expect(parseModel(json)).toBeNull();
  });

  it('accepts the hand-written model', () => {
    expect(parseModel(serializeModel(model))).toEqual(model);
  });
});
