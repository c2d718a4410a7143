import { describe, expect, it } from 'vitest';
import { bucketOf, inControlGroup } from './bucket.js';

describe('control buckets', () => {
  it('are stable for a visitor and an offer', () => {
    for (let i = 0; i < 100; i++) {
      expect(inControlGroup(`v${i}`, 'off_a', 30)).toBe(inControlGroup(`v${i}`, 'off_a', 30));
    }
  });

  it.each([1, 10, 25, 50, 90])('put %i%% of many visitors in control, within 3 standard deviations', (percent) => {
    const n = 20_000;
    let control = 0;
    for (let i = 0; i < n; i++) if (inControlGroup(`visitor-${i}`, 'off_stats', percent)) control++;
    const p = percent / 100;
    const sd = Math.sqrt(n * p * (1 - p));
    expect(Math.abs(control - n * p)).toBeLessThan(3 * sd);
  });

  it('spread buckets evenly (chi-square over 20 bins)', () => {
    const bins = new Array(20).fill(0);
    const n = 40_000;
    for (let i = 0; i < n; i++) bins[Math.floor(bucketOf(`k${i}`) / 500)]++;
    const expected = n / 20;
    const chi2 = bins.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
    // 19 degrees of freedom: the 99.9th percentile is 43.8.
    expect(chi2).toBeLessThan(43.8);
  });

  it('are independent between offers', () => {
    let both = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) if (inControlGroup(`v${i}`, 'off_1', 50) && inControlGroup(`v${i}`, 'off_2', 50)) both++;
    expect(Math.abs(both - n / 4)).toBeLessThan(3 * Math.sqrt(n * 0.25 * 0.75));
  });

  it('never or always at 0% and 100%', () => {
    expect(inControlGroup('v', 'o', 0)).toBe(false);
    expect(inControlGroup('v', 'o', 100)).toBe(true);
  });
});
