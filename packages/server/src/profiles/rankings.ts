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
}

/**
 * ABC classes by revenue across the customers of a site: sorted by revenue, A are the customers
 * who together make the first 80% of it (the one who crosses 80% included), B the next 15%, C
 * the rest, customers without revenue included.
 */
export function abcClasses(inputs: RankingInput[]): Map<string, AbcClass> {
  const out = new Map<string, AbcClass>();
  const buyers = inputs.filter((p) => p.revenue > 0).sort((a, b) => b.revenue - a.revenue || (a.id < b.id ? -1 : 1));
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

/**
 * RFM scores of the customers who ordered: quintiles (1 to 5, 5 best) of recency (days since
 * the last order, fewer is better), frequency (orders) and monetary value (revenue). Equal
 * values share a score. Customers without orders get none.
 */
export function rfmScores(inputs: RankingInput[], now: number): Map<string, Rfm> {
  const buyers = inputs.filter((p) => p.orders > 0 && p.lastOrderAt !== null);
  const values = (value: (p: RankingInput) => number) => Float64Array.from(buyers, value);
  const r = quintiles(values((p) => -(now - p.lastOrderAt!)));
  const f = quintiles(values((p) => p.orders));
  const m = quintiles(values((p) => p.revenue));
  const out = new Map<string, Rfm>();
  buyers.forEach((p, i) => out.set(p.id, { r: r[i], f: f[i], m: m[i], score: `${r[i]}${f[i]}${m[i]}` }));
  return out;
}

/**
 * Score 1..5 of each value by its rank (higher value, higher score); ties take the score of their
 * first rank. Sorted as indexes into typed arrays: with a site's every buyer, objects and maps
 * here made the rankings hold the event loop four times as long.
 */
function quintiles(values: Float64Array): Uint8Array {
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => values[a] - values[b]);
  const scores = new Uint8Array(n);
  let tie = 0;
  for (let rank = 0; rank < n; rank++) {
    const i = order[rank];
    if (rank === 0 || values[i] !== values[order[rank - 1]]) tie = Math.floor((rank * 5) / n) + 1;
    scores[i] = tie;
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
 * ABC and RFM of a site's customers, with a turn of the event loop between the two: over a
 * million profiles each takes tens of milliseconds that decisions would otherwise wait out.
 */
export async function computeRankings(inputs: RankingInput[], now: number): Promise<Rankings> {
  const abc = abcClasses(inputs);
  await new Promise<void>((resolve) => setImmediate(resolve));
  return { computedAt: now, abc, rfm: rfmScores(inputs, now) };
}
