import { describe, expect, it } from 'vitest';
import { erf, normalCdf, twoProportionTest } from './statistics.js';

describe('statistics', () => {
  it.each([
    [0, 0],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [1.959963984540054 / Math.SQRT2, 0.95],
    [3.5, 0.9999992569016276],
    [-2, -0.9953222650189527],
  ])('erf(%f) = %f', (x, expected) => {
    expect(erf(x)).toBeCloseTo(expected, 9);
  });

  it('gives the familiar normal quantiles', () => {
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1.644854)).toBeCloseTo(0.05, 6);
  });

  it('tests two proportions', () => {
    const { z, pValue } = twoProportionTest(200, 1000, 100, 1000);
    // pooled p = 0.15, se = sqrt(0.15 * 0.85 * 2 / 1000)
    expect(z).toBeCloseTo(0.1 / Math.sqrt((0.15 * 0.85 * 2) / 1000), 9);
    expect(pValue).toBeLessThan(1e-9);
    expect(twoProportionTest(50, 100, 50, 100)).toEqual({ z: 0, pValue: 1 });
    expect(twoProportionTest(0, 0, 1, 10)).toEqual({ z: null, pValue: null });
    expect(twoProportionTest(0, 10, 0, 10)).toEqual({ z: null, pValue: null });
  });
});
