import type Database from 'better-sqlite3';
import type { DayCounts, RollupWrites, TouchCounts, TouchKind } from '../../reports/rollups.js';
import { touchColumns, type TouchField } from '../store.js';
import type { TouchKey } from '../types.js';

const DAY_COLUMNS = ['events', 'visitors', 'new_visitors', 'sessions', 'orders', 'revenue', 'customers'] as const;
const TOUCH_COLUMNS = ['visitors', 'sessions', 'customers', 'orders', 'revenue'] as const;
const increments = (columns: readonly string[]) => columns.map((c) => `${c} = ${c} + excluded.${c}`).join(', ');

/**
 * The rollup tables (migration 6) on SQLite: increments added in the ingest transaction, range
 * sums for the console and reports, and the wholesale replacement of a rebuild. One writer, so
 * every row is shard 0.
 */
export class SqliteRollups {
  private readonly addDay;
  private readonly addTouch;
  private readonly daySums;

  constructor(private readonly db: Database.Database) {
    this.addDay = db.prepare(
      `INSERT INTO rollup_days (site_id, day, ${DAY_COLUMNS.join(', ')}) VALUES (?, ?, ${DAY_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (site_id, day, shard) DO UPDATE SET ${increments(DAY_COLUMNS)}`,
    );
    this.addTouch = db.prepare(
      `INSERT INTO rollup_touches (site_id, day, touch, medium, source, campaign, term, ${TOUCH_COLUMNS.join(', ')})
       VALUES (?, ?, ?, ?, ?, ?, ?, ${TOUCH_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (site_id, day, touch, medium, source, campaign, term, shard) DO UPDATE SET ${increments(TOUCH_COLUMNS)}`,
    );
    this.daySums = db.prepare(
      `SELECT day, SUM(events) AS events, SUM(visitors) AS visitors, SUM(new_visitors) AS newVisitors, SUM(sessions) AS sessions,
         SUM(orders) AS orders, SUM(revenue) AS revenue, SUM(customers) AS customers
       FROM rollup_days WHERE site_id = ? AND day BETWEEN ? AND ? GROUP BY day ORDER BY day`,
    );
  }

  /** Inside the caller's transaction. */
  add(siteId: string, writes: RollupWrites): void {
    for (const d of writes.days) {
      this.addDay.run(siteId, d.day, d.events, d.visitors, d.newVisitors, d.sessions, d.orders, d.revenue, d.customers);
    }
    for (const t of writes.touches) {
      this.addTouch.run(siteId, t.day, t.touch, t.medium, t.source, t.campaign, t.term, t.visitors, t.sessions, t.customers, t.orders, t.revenue);
    }
  }

  days(siteId: string, from: number, to: number): Array<{ day: number } & DayCounts> {
    return this.daySums.all(siteId, from, to) as Array<{ day: number } & DayCounts>;
  }

  touches(siteId: string, touch: TouchKind, from: number, to: number, by: TouchField[]): Array<Partial<TouchKey> & TouchCounts> {
    const columns = touchColumns(by);
    return this.db
      .prepare(
        `SELECT ${columns}, SUM(visitors) AS visitors, SUM(sessions) AS sessions, SUM(customers) AS customers,
           SUM(orders) AS orders, SUM(revenue) AS revenue
         FROM rollup_touches WHERE site_id = ? AND touch = ? AND day BETWEEN ? AND ?
         GROUP BY ${columns}`,
      )
      .all(siteId, touch, from, to) as Array<Partial<TouchKey> & TouchCounts>;
  }

  /** Inside the caller's transaction: adds `writes` (an erasure's negative counts) and deletes the rows of touches they leave at zero. */
  subtract(siteId: string, writes: RollupWrites): void {
    this.add(siteId, writes);
    const zero = this.db.prepare(
      `DELETE FROM rollup_touches WHERE site_id = ? AND day = ? AND touch = ? AND medium = ? AND source = ? AND campaign = ? AND term = ?
         AND ${TOUCH_COLUMNS.map((c) => `${c} = 0`).join(' AND ')}`,
    );
    for (const t of writes.touches) zero.run(siteId, t.day, t.touch, t.medium, t.source, t.campaign, t.term);
  }

  /** Inside the caller's transaction: the site's rollups become `writes`. */
  replace(siteId: string, writes: RollupWrites): void {
    this.db.prepare('DELETE FROM rollup_days WHERE site_id = ?').run(siteId);
    this.db.prepare('DELETE FROM rollup_touches WHERE site_id = ?').run(siteId);
    this.add(siteId, writes);
  }
}
