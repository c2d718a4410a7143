import type { Store, TouchField } from '../store/store.js';
import type { Site, TouchKey } from '../store/types.js';
import { orderAmount } from '../profiles/computed.js';
import type { ProfileRecord } from '../profiles/types.js';
import { dayStart, type DayRange } from './days.js';
import { cents, NO_TOUCH, personFacts, touchKeyOf, type TouchCounts } from './rollups.js';

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
  return { touch, by, rows: shapeRows(rows) };
}

/** Rows with their rates, those with any figure only, by revenue, then orders, then visitors. */
function shapeRows(rows: Map<string, TouchCounts>): AttributionRow[] {
  return [...rows]
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
    .sort((a, b) => b.revenue - a.revenue || b.orders - a.orders || b.visitors - a.visitors || a.key.localeCompare(b.key));
}

/**
 * The same report for the people of a segment (`inSegment`, as they are now), from their profiles
 * and the orders of the range rather than from the rollups, which are for everyone: a scan of the
 * site's profiles, seconds at a million. One difference of meaning: last-touch visitors are then
 * the segment's people seen in the range, by their last touch, not sessions.
 *
 * @example
 * await segmentAttribution(store, site, range, 'first', 'source', (p) => matches(subjectOf(p, now, null)));
 */
export async function segmentAttribution(
  store: Store,
  site: Site,
  range: DayRange,
  touch: AttributionTouch,
  by: TouchField,
  inSegment: (profile: ProfileRecord) => boolean,
): Promise<Attribution> {
  const tz = site.settings.timeZone;
  const rows = new Map<string, TouchCounts>();
  const row = (key: TouchKey) => {
    let r = rows.get(key[by]);
    if (!r) rows.set(key[by], (r = { visitors: 0, sessions: 0, customers: 0, orders: 0, revenue: 0 }));
    return r;
  };
  const within = (day: number | null) => day !== null && day >= range.from && day <= range.to;
  const members = new Set<string>();
  await store.scanProfiles(site.id, (profile) => {
    if (!inSegment(profile)) return;
    members.add(profile.id);
    const facts = personFacts(profile, tz);
    if (touch === 'first' && within(facts.firstDay)) row(facts.firstTouch).visitors++;
    if (touch === 'last' && facts.activeDays.some(within)) row(touchKeyOf(profile.computed.lastTouch)).visitors++;
    if (within(facts.firstOrderDay)) row(touch === 'first' ? facts.firstTouch : facts.firstOrderTouch).customers++;
  });
  for (const order of await store.ordersBetween(site.id, dayStart(range.from, tz), dayStart(range.to + 1, tz) - 1)) {
    if (!members.has(order.profileId)) continue;
    const credited = order.enrichment.attribution?.[touch] ?? NO_TOUCH;
    const r = row(credited);
    r.orders++;
    r.revenue += cents(orderAmount(order.properties));
  }
  return { touch, by, rows: shapeRows(rows) };
}

/** One CSV cell (RFC 4180); a text that a spreadsheet would run as a formula is prefixed with ' so that it stays text. */
export function csvCell(value: string): string {
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The rows as CSV (RFC 4180), with a header; cells that a spreadsheet would run as a formula are quoted as text. */
export function attributionCsv(report: Attribution): string {
  const cell = csvCell;
  const lines = [[report.by, 'visitors', 'customers', 'orders', 'revenue', 'conversion_rate', 'revenue_per_visitor'].join(',')];
  for (const r of report.rows) {
    lines.push([cell(r.key), r.visitors, r.customers, r.orders, r.revenue.toFixed(2), r.conversionRate.toFixed(4), r.revenuePerVisitor.toFixed(2)].join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
