import type { RankingInput } from '../store/types.js';

export type AbcClass = 'A' | 'B' | 'C';

export interface Rfm {
  r: number;
  f: number;
  m: number;
  /** The three scores as one string, e.g. "545". */
  score: string;
}

export interface Rankings {
  computedAt: number;
  abc: Map<string, AbcClass>;
  rfm: Map<string, Rfm>;
  /** What the console's ABC card shows, counted once with the classes rather than per page view. */
  summary: AbcSummary;
}

/** Per class, the customers with revenue and the revenue they make; `revenue`: all of it. */
export interface AbcSummary {
  classes: Record<AbcClass, { customers: number; revenue: number }>;
  buyers: number;
  revenue: number;
}

/**
 * The summary of ABC classes: customers with revenue per class and their revenue.
 *
 * @example
 * abcSummaryOf(inputs, abcClasses(inputs)).classes.A.customers;
 */
export function abcSummaryOf(inputs: RankingInput[], abc: Map<string, AbcClass>): AbcSummary {
  const summary: AbcSummary = { classes: { A: { customers: 0, revenue: 0 }, B: { customers: 0, revenue: 0 }, C: { customers: 0, revenue: 0 } }, buyers: 0, revenue: 0 };
  for (const p of inputs) {
    if (p.revenue <= 0) continue;
    const figures = summary.classes[abc.get(p.id) ?? 'C'];
    figures.customers++;
    figures.revenue += p.revenue;
    summary.buyers++;
    summary.revenue += p.revenue;
  }
  return summary;
}

/**
 * ABC classes by revenue across the customers of a site: sorted by revenue, A are the customers
 * who together make the first 80% of it (the one who crosses 80% included), B the next 15%, C
 * the rest, customers without revenue included.
 */
export const abcClasses = (inputs: RankingInput[]) => finish(abcSteps(inputs));

/**
 * RFM scores of the customers who ordered: quintiles (1 to 5, 5 best) of recency (days since
 * the last order, fewer is better), frequency (orders) and monetary value (revenue). Equal
 * values share a score. Customers without orders get none.
 */
export const rfmScores = (inputs: RankingInput[], now: number) => finish(rfmSteps(inputs, now));

// The rankings are computed in steps (each `yield` ends one) so that `computeRankings` can let
// the event loop turn between them: over a million profiles each sort takes tens of
// milliseconds, which decisions would otherwise wait out all in one go.
type Steps<T> = Generator<void, T, void>;

function* abcSteps(inputs: RankingInput[]): Steps<Map<string, AbcClass>> {
  const buyers = inputs.filter((p) => p.revenue > 0).sort((a, b) => b.revenue - a.revenue || (a.id < b.id ? -1 : 1));
  yield;
  const out = new Map<string, AbcClass>();
  const total = buyers.reduce((sum, p) => sum + p.revenue, 0);
  let before = 0;
  for (const p of buyers) {
    const share = before / total;
    out.set(p.id, share < 0.8 ? 'A' : share < 0.95 ? 'B' : 'C');
    before += p.revenue;
  }
  for (const p of inputs) if (!out.has(p.id)) out.set(p.id, 'C');
  return out;
}

function* rfmSteps(inputs: RankingInput[], now: number): Steps<Map<string, Rfm>> {
  const buyers = inputs.filter((p) => p.orders > 0 && p.lastOrderAt !== null);
  const values = (value: (p: RankingInput) => number) => Float64Array.from(buyers, value);
  const r = quintiles(values((p) => -(now - p.lastOrderAt!)));
  yield;
  const f = quintiles(values((p) => p.orders));
  yield;
  const m = quintiles(values((p) => p.revenue));
  yield;
  const out = new Map<string, Rfm>();
  buyers.forEach((p, i) => out.set(p.id, { r: r[i], f: f[i], m: m[i], score: `${r[i]}${f[i]}${m[i]}` }));
  return out;
}

/** Runs the steps at once. */
function finish<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs the steps with a turn of the event loop after each. */
async function stepwise<T>(steps: Steps<T>): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Score 1..5 of each value by its rank (higher value, higher score); ties take the score of their
 * first rank, found by binary search in a sorted copy: a native numeric sort of a typed array
 * takes a fraction of the time of a sort that calls back into JavaScript for each comparison.
 */
function quintiles(values: Float64Array): Uint8Array {
  const n = values.length;
  const sorted = values.slice().sort();
  const scores = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    // The first rank of values[i] in `sorted`.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid] < values[i]) lo = mid + 1;
      else hi = mid;
    }
    scores[i] = Math.floor((lo * 5) / n) + 1;
  }
  return scores;
}

/**
 * The ABC class of one customer: C without revenue (nothing to rank), else the class of the
 * site's cached rankings, or null while they do not include the customer yet.
 */
export function abcOf(rankings: Rankings | null | undefined, profileId: string, revenue: number): AbcClass | null {
  if (revenue <= 0) return 'C';
  return rankings?.abc.get(profileId) ?? null;
}

/**
 * Rankings as arrays, cheap to hand over from a worker thread and to keep in the store (a Map of
 * every customer costs far more to clone, and to encode): for each input in order, its id, its
 * ABC class (1 = A, 2 = B, 3 = C) and its R, F and M scores (0 without orders).
 */
export interface PackedRankings {
  summary: AbcSummary;
  /**
   * The ids, one per line: a single string crosses threads and goes into the store as a copy,
   * where an array of a million strings is cloned string by string on the receiving thread.
   */
  ids: string;
  abc: Uint8Array;
  r: Uint8Array;
  f: Uint8Array;
  m: Uint8Array;
}

/** Ranks and packs, at once: what the read worker runs (see `RANKING_SOURCE`). */
export function packRankings(inputs: RankingInput[], now: number): PackedRankings {
  const abc = finish(abcSteps(inputs));
  const rfm = finish(rfmSteps(inputs, now));
  const n = inputs.length;
  const packed = { summary: abcSummaryOf(inputs, abc), ids: '', abc: new Uint8Array(n), r: new Uint8Array(n), f: new Uint8Array(n), m: new Uint8Array(n) };
  inputs.forEach((p, i) => {
    packed.abc[i] = ' ABC'.indexOf(abc.get(p.id)!);
    const score = rfm.get(p.id);
    if (score) {
      packed.r[i] = score.r;
      packed.f[i] = score.f;
      packed.m[i] = score.m;
    }
  });
  packed.ids = inputs.map((p) => p.id).join('\n');
  return packed;
}

/** The rankings of their packed form, built a slice at a time with turns of the event loop between. */
export async function unpackRankings(packed: PackedRankings, now: number): Promise<Rankings> {
  const abc = new Map<string, AbcClass>();
  const rfm = new Map<string, Rfm>();
  const { ids, r, f, m } = packed;
  for (let i = 0, start = 0; i < packed.abc.length; i++) {
    const end = ids.indexOf('\n', start);
    const id = end === -1 ? ids.slice(start) : ids.slice(start, end);
    start = end + 1;
    abc.set(id, ' ABC'.charAt(packed.abc[i]) as AbcClass);
    if (r[i]) rfm.set(id, { r: r[i], f: f[i], m: m[i], score: `${r[i]}${f[i]}${m[i]}` });
    if (i % 10_000 === 9_999) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { computedAt: now, abc, rfm, summary: packed.summary };
}

/**
 * The source text of `packRankings` and the steps it runs, for the read worker: these functions
 * use nothing but each other and their arguments.
 */
export const RANKING_SOURCE = [finish, quintiles, abcSteps, rfmSteps, abcSummaryOf, packRankings].map(String).join('\n');

/** ABC and RFM of a site's customers, computed step by step (see `abcSteps`). */
export async function computeRankings(inputs: RankingInput[], now: number): Promise<Rankings> {
  const abc = await stepwise(abcSteps(inputs));
  return { computedAt: now, abc, rfm: await stepwise(rfmSteps(inputs, now)), summary: abcSummaryOf(inputs, abc) };
}
