import type { Computed } from './types.js';

const DAY_MS = 86_400_000;
const YEAR_DAYS = 365;
/** Years ahead that the predicted lifetime value looks. */
export const CLV_HORIZON_YEARS = 2;
/**
 * The shortest tenure that an order rate is computed over: a year, so that a new customer's
 * first orders count as that year's orders rather than extrapolate to dozens a year.
 */
const MIN_TENURE_DAYS = 365;

/**
 * Customer value figures derived from the computed attributes:
 *
 * - `aov` = revenue / orders;
 * - `clv` (historic) = net revenue so far;
 * - `predictedClv` = clv + aov × orders per year × horizon (2 years) × activity, where orders per
 *   year = orders / max(years since the first order, 1), and activity =
 *   e^(−days since the last order / 365), the chance that the customer still buys, decaying with
 *   time since the last order. Customers who never ordered get 0: there is nothing to project.
 */
export function customerValue(c: Computed, now: number) {
  const aov = c.orders > 0 ? round2(c.revenue / c.orders) : 0;
  let predicted = 0;
  if (c.orders > 0 && c.firstOrderAt !== null && c.lastOrderAt !== null) {
    const tenureDays = Math.max((now - c.firstOrderAt) / DAY_MS, MIN_TENURE_DAYS);
    const ordersPerYear = (c.orders / tenureDays) * YEAR_DAYS;
    const activity = Math.exp(-Math.max(0, now - c.lastOrderAt) / DAY_MS / YEAR_DAYS);
    predicted = round2(c.revenue + aov * ordersPerYear * CLV_HORIZON_YEARS * activity);
  }
  return { aov, clv: round2(c.revenue), predictedClv: predicted };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
