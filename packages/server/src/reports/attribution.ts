import type { Store, TouchField } from '../store/store.js';
import type { Site, TouchKey } from '../store/types.js';
import type { DayRange } from './days.js';
import type { TouchCounts } from './rollups.js';

/** Which touch a buyer is credited to: the first that brought them, or the last before they bought. */
export type AttributionTouch = 'first' | 'last';

export interface AttributionRow {
  /** The source, medium, campaign or keyword; '' when there was none (a direct visit has source ''). */
  key: string;
  visitors: number;
  customers: number;
  orders: number;
  /** In the shop's currency units. */
  revenue: number;
  /** Customers per visitor. */
  conversionRate: number;
  revenuePerVisitor: number;
}

export interface Attribution {
  touch: AttributionTouch;
  by: TouchField;
  rows: AttributionRow[];
}

/**
 * Which sources, media, campaigns or keywords bring customers who buy, over a range of days, from
 * the rollups (their rules: reports/rollups.ts and docs/reports.md).
 * - First touch: visitors are the people first seen in the range, by the touch that first
 *   brought them; customers those whose first order is in the range; orders and revenue those
 *   of the range, by the buyer's first touch when they ordered.
 * - Last touch: visitors are the sessions of the range, by where each came from; customers
 *   those whose first order is in the range, by their last touch before it; orders and revenue
 *   by the buyer's last touch when they ordered.
 * Rows are sorted by revenue, then orders, then visitors.
 *
 * @example
 * await attribution(store, site, range, 'first', 'term'); // { rows: [{ key: 'boots', customers: 4, ... }] }
 */
export async function attribution(store: Store, site: Site, range: DayRange, touch: AttributionTouch, by: TouchField): Promise<Attribution> {
  const [credited, visits] = await Promise.all([
    store.rollupTouches(site.id, touch, range.from, range.to, [by]),
    touch === 'last' ? store.rollupTouches(site.id, 'session', range.from, range.to, [by]) : null,
  ]);
  const rows = new Map<string, TouchCounts>();
  const row = (key: string) => {
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { visitors: 0, sessions: 0, customers: 0, orders: 0, revenue: 0 }));
    return r;
  };
  const keyOf = (r: Partial<TouchKey>) => r[by] ?? '';
  for (const r of credited) {
    const t = row(keyOf(r));
    if (touch === 'first') t.visitors += r.visitors;
    t.customers += r.customers;
    t.orders += r.orders;
    t.revenue += r.revenue;
  }
  for (const r of visits ?? []) row(keyOf(r)).visitors += r.sessions;
  return {
    touch,
    by,
    rows: [...rows]
      .map(([key, t]) => ({
        key,
        visitors: t.visitors,
        customers: t.customers,
        orders: t.orders,
        revenue: t.revenue / 100,
        conversionRate: t.visitors ? t.customers / t.visitors : 0,
        revenuePerVisitor: t.visitors ? t.revenue / 100 / t.visitors : 0,
      }))
      .filter((r) => r.visitors || r.customers || r.orders || r.revenue)
      .sort((a, b) => b.revenue - a.revenue || b.orders - a.orders || b.visitors - a.visitors || a.key.localeCompare(b.key)),
  };
}

/** The rows as CSV (RFC 4180), with a header; cells that a spreadsheet would run as a formula are quoted as text. */
export function attributionCsv(report: Attribution): string {
  const cell = (v: string | number) => {
    let s = String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [[report.by, 'visitors', 'customers', 'orders', 'revenue', 'conversion_rate', 'revenue_per_visitor'].join(',')];
  for (const r of report.rows) {
    lines.push([cell(r.key), r.visitors, r.customers, r.orders, r.revenue.toFixed(2), r.conversionRate.toFixed(4), r.revenuePerVisitor.toFixed(2)].join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
