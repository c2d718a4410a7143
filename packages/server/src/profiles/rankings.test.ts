import { describe, expect, it } from 'vitest';
import type { RankingInput } from '../store/types.js';
import { abcClasses, rfmScores } from './rankings.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 23);

describe('ABC classes', () => {
  it('puts the customers who make the first 80% of revenue in A, the next 15% in B, the rest in C', () => {
    // Revenue 1000 in all. Cumulative before each: 0, 50%, 80%, 90%, 95%, 97%...
    const revenues = [500, 300, 100, 50, 20, 10, 10, 5, 5, 0];
    const inputs: RankingInput[] = revenues.map((revenue, i) => ({ id: `c${i}`, orders: revenue ? 1 : 0, revenue, lastOrderAt: NOW }));
    const abc = abcClasses(inputs);
    expect(revenues.map((_, i) => abc.get(`c${i}`))).toEqual(['A', 'A', 'B', 'B', 'C', 'C', 'C', 'C', 'C', 'C']);
  });

  it('follows the Pareto shape on a generated data set: about a fifth of buyers make 80%', () => {
    // Revenue of customer k is proportional to 1/k^1.16 (a Pareto 80/20 distribution).
    const inputs: RankingInput[] = Array.from({ length: 1000 }, (_, k) => ({
      id: `g${k}`,
      orders: 1,
      revenue: Math.round(100_000 / Math.pow(k + 1, 1.16)) / 100,
      lastOrderAt: NOW,
    }));
    const abc = abcClasses(inputs);
    const count = (c: string) => [...abc.values()].filter((v) => v === c).length;
    const total = inputs.reduce((s, p) => s + p.revenue, 0);
    const revenueOf = (c: string) => inputs.filter((p) => abc.get(p.id) === c).reduce((s, p) => s + p.revenue, 0) / total;
    // Known answer by construction: A's share is just past 80%, B's about 15%.
    expect(revenueOf('A')).toBeGreaterThanOrEqual(0.8);
    expect(revenueOf('A')).toBeLessThan(0.81);
    expect(revenueOf('A') + revenueOf('B')).toBeGreaterThanOrEqual(0.95);
    expect(count('A') + count('B') + count('C')).toBe(1000);
    expect(count('A')).toBeLessThan(count('C'));
  });
});

describe('RFM scores', () => {
  it('scores quintiles of recency, frequency and monetary value among buyers', () => {
    // Ten buyers: buyer i ordered i+1 times, spent 10*(i+1), last ordered 10-i days ago.
    const inputs: RankingInput[] = Array.from({ length: 10 }, (_, i) => ({
      id: `b${i}`,
      orders: i + 1,
      revenue: 10 * (i + 1),
      lastOrderAt: NOW - (10 - i) * DAY,
    }));
    inputs.push({ id: 'never', orders: 0, revenue: 0, lastOrderAt: null });
    const rfm = rfmScores(inputs, NOW);
    expect(rfm.get('b0')).toEqual({ r: 1, f: 1, m: 1, score: '111' });
    expect(rfm.get('b9')).toEqual({ r: 5, f: 5, m: 5, score: '555' });
    expect(rfm.get('b4')!.score).toBe('333');
    expect(rfm.get('b5')!.score).toBe('333');
    expect(rfm.has('never')).toBe(false);
  });

  it('gives equal values the same score', () => {
    const inputs: RankingInput[] = Array.from({ length: 10 }, (_, i) => ({ id: `t${i}`, orders: i < 5 ? 1 : 2, revenue: 10, lastOrderAt: NOW }));
    const rfm = rfmScores(inputs, NOW);
    expect(new Set(inputs.slice(0, 5).map((p) => rfm.get(p.id)!.f))).toEqual(new Set([1]));
    expect(new Set(inputs.slice(5).map((p) => rfm.get(p.id)!.f))).toEqual(new Set([3]));
    expect(new Set(inputs.map((p) => rfm.get(p.id)!.m))).toEqual(new Set([1]));
  });
});
