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
  const r = quintiles(buyers, (p) => -(now - p.lastOrderAt!));
  const f = quintiles(buyers, (p) => p.orders);
  const m = quintiles(buyers, (p) => p.revenue);
  const out = new Map<string, Rfm>();
  for (const p of buyers) {
    const score = { r: r.get(p.id)!, f: f.get(p.id)!, m: m.get(p.id)! };
    out.set(p.id, { ...score, score: `${score.r}${score.f}${score.m}` });
  }
  return out;
}

/** Score 1..5 by rank of `value` (higher value, higher score); ties take the score of their first rank. */
function quintiles(items: RankingInput[], value: (p: RankingInput) => number): Map<string, number> {
  const sorted = [...items].sort((a, b) => value(a) - value(b));
  const out = new Map<string, number>();
  let tieScore = 0;
  sorted.forEach((p, rank) => {
    const score = Math.floor((rank * 5) / sorted.length) + 1;
    if (rank === 0 || value(p) !== value(sorted[rank - 1])) tieScore = score;
    out.set(p.id, tieScore);
  });
  return out;
}

/**
 * The ABC class of one customer: C without revenue (nothing to rank), else the class of the
 * site's cached rankings, or null while they do not include the customer yet.
 */
export function abcOf(rankings: Rankings | null | undefined, profileId: string, revenue: number): AbcClass | null {
  if (revenue <= 0) return 'C';
  return rankings?.abc.get(profileId) ?? null;
}

export function computeRankings(inputs: RankingInput[], now: number): Rankings {
  return { computedAt: now, abc: abcClasses(inputs), rfm: rfmScores(inputs, now) };
}
