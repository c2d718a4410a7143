import type { Store } from '../store/store.js';
import type { Site } from '../store/types.js';
import { isoDate, type DayRange } from './days.js';
import type { DayCounts } from './rollups.js';

/** Rows of the "top" lists. */
const TOP = 10;

/** One day of the overview's chart. */
export interface OverviewDay extends DayCounts {
  date: string;
}

/** How a site is doing over a range of its local days, from the rollups (reports/rollups.ts). */
export interface Overview {
  range: { from: string; to: string; days: number };
  timeZone: string;
  /** People, all time: everyone counted once, on their first day. */
  people: number;
  /** Live profiles with a user id. */
  identified: number;
  /** Sums over the range; `visitors` counts each person once per day they came. */
  totals: DayCounts;
  /** Sessions by the referral of their first event, most first. */
  sources: Array<{ medium: string; source: string; sessions: number }>;
  /** Search keywords (lower-cased) by the sessions they opened, most first. */
  keywords: Array<{ term: string; sessions: number }>;
  /** Every day of the range, oldest first, zeros included. */
  daily: OverviewDay[];
}

const ZERO: DayCounts = { events: 0, visitors: 0, newVisitors: 0, sessions: 0, orders: 0, revenue: 0, customers: 0 };

/**
 * The overview of a range, in a few indexed reads of the rollups and one count: its cost does
 * not grow with the number of events or profiles.
 *
 * @example
 * await siteOverview(store, site, rangeOf({ days: '30' }, Date.now(), site.settings.timeZone));
 */
export async function siteOverview(store: Store, site: Site, range: DayRange): Promise<Overview> {
  const [allDays, identified, sources, keywords] = await Promise.all([
    // Every day up to the range's end, for the count of people: a row per day of the site's life.
    store.rollupDays(site.id, 0, range.to),
    store.countIdentified(site.id),
    store.rollupTouches(site.id, 'session', range.from, range.to, ['medium', 'source']),
    store.rollupTouches(site.id, 'session', range.from, range.to, ['term']),
  ]);
  const byDay = new Map(allDays.map((d) => [d.day, d]));
  const totals = { ...ZERO };
  const daily: OverviewDay[] = [];
  for (let day = range.from; day <= range.to; day++) {
    const { day: _day, ...counts } = byDay.get(day) ?? { day, ...ZERO };
    for (const key of Object.keys(totals) as Array<keyof DayCounts>) totals[key] += counts[key];
    daily.push({ date: isoDate(day), ...counts });
  }
  return {
    range: { from: isoDate(range.from), to: isoDate(range.to), days: range.to - range.from + 1 },
    timeZone: site.settings.timeZone,
    people: allDays.reduce((sum, d) => sum + d.newVisitors, 0),
    identified,
    totals,
    sources: top(sources.filter((r) => r.sessions > 0), (r) => ({ medium: r.medium!, source: r.source!, sessions: r.sessions })),
    keywords: top(keywords.filter((r) => r.term && r.sessions > 0), (r) => ({ term: r.term!, sessions: r.sessions })),
    daily,
  };
}

function top<R extends { sessions: number }, T extends { sessions: number }>(rows: R[], shape: (row: R) => T): T[] {
  return rows
    .map(shape)
    .sort((a, b) => b.sessions - a.sessions || JSON.stringify(a).localeCompare(JSON.stringify(b)))
    .slice(0, TOP);
}
