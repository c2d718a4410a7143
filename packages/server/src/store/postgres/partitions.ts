import type pg from 'pg';
import { isState } from './errors.js';

/**
 * Partition maintenance of `events`: one partition per UTC month of the event time, made ahead
 * (the current month and the next two, at open and then daily), plus `events_before` for
 * everything before the first month. A month that ingest needs and that does not exist yet (an
 * event from the future, say) is made on demand. Retention drops whole months.
 */

/** The advisory lock held while partitions are made or dropped, so that nodes take turns. */
export const PARTITION_LOCK = 7_243_110_002;

/** Months made ahead of the current one. */
export const MONTHS_AHEAD = 2;

export function monthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function nextMonth(start: number): number {
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** `events_p2026_12` for December 2026. */
export function partitionName(start: number): string {
  const d = new Date(start);
  return `events_p${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

export interface Partition {
  name: string;
  /** Bounds in event time: from inclusive, to exclusive; -Infinity for MINVALUE. */
  from: number;
  to: number;
}

/** The partitions of `events` as the catalog has them, oldest first. */
export async function listPartitions(db: pg.Pool | pg.PoolClient): Promise<Partition[]> {
  const { rows } = await db.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'events'::regclass`,
  );
  const out: Partition[] = [];
  for (const row of rows) {
    const match = /FROM \((.+?)\) TO \((.+?)\)/.exec(row.bound);
    if (!match) continue;
    const value = (text: string) => (text === 'MINVALUE' ? -Infinity : text === 'MAXVALUE' ? Infinity : Number(text.replace(/'/g, '')));
    out.push({ name: row.name, from: value(match[1]), to: value(match[2]) });
  }
  return out.sort((a, b) => a.from - b.from);
}

/**
 * What this process knows of the partitions: enough to tell, before writing, whether every
 * event of a transaction has a partition, so that one is made (outside the transaction: making
 * one locks the whole table) only when needed.
 */
export class Partitions {
  private known: Partition[] = [];
  private timer: NodeJS.Timeout | null = null;

  /** `longStatementTimeoutMs`: the longest statement of a drop (counting a month of events). */
  constructor(
    private readonly pool: pg.Pool,
    private readonly longStatementTimeoutMs = 120_000,
  ) {}

  /** Reads the catalog, then makes the current month and the next ones; then again daily. */
  async start(now = Date.now()): Promise<void> {
    await this.ensure(this.ahead(now));
    this.timer = setInterval(() => void this.ensure(this.ahead(Date.now())).catch(() => {}), 86_400_000);
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private ahead(now: number): number[] {
    const months = [monthStart(now)];
    for (let i = 0; i < MONTHS_AHEAD; i++) months.push(nextMonth(months[months.length - 1]));
    return months;
  }

  async refresh(): Promise<void> {
    this.known = await listPartitions(this.pool);
  }

  /** True when an event at `timestamp` has a partition, as far as this process knows. */
  covers(timestamp: number): boolean {
    return this.known.some((p) => timestamp >= p.from && timestamp < p.to);
  }

  /** The month starts of the timestamps that no known partition covers. */
  missing(timestamps: Iterable<number>): number[] {
    const months = new Set<number>();
    for (const t of timestamps) if (!this.covers(t)) months.add(monthStart(t));
    return [...months];
  }

  /**
   * Runs `work` in a transaction that holds the partition lock: committed when it returns a
   * value, rolled back when it returns null or throws.
   */
  private async underLock<T>(work: (client: pg.PoolClient) => Promise<T | null>): Promise<T | null> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
        const result = await work(client);
        await client.query(result === null ? 'ROLLBACK' : 'COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw error;
      }
    } finally {
      client.release(broken || undefined);
    }
  }

  /**
   * Makes the monthly partitions of these month starts that do not exist (months before the
   * first one belong to `events_before`), in one transaction under the partition lock, so that
   * nodes doing it at once make each once.
   */
  async ensure(months: number[]): Promise<void> {
    await this.refresh();
    const wanted = [...new Set(months)].filter((m) => !this.known.some((p) => m >= p.from && m < p.to));
    if (wanted.length === 0) return;
    await this.underLock(async (client) => {
      const current = await listPartitions(client);
      for (const start of wanted) {
        if (current.some((p) => start >= p.from && start < p.to)) continue;
        await client.query('SAVEPOINT make_partition');
        try {
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${partitionName(start)} PARTITION OF events FOR VALUES FROM (${start}) TO (${nextMonth(start)})`,
          );
          await client.query('RELEASE SAVEPOINT make_partition');
        } catch (error) {
          // Made by someone who did not take the lock, or overlapping a partition made by hand.
          if (!isState(error, '42P07') && !isState(error, '42P17') && !isState(error, '23505')) throw error;
          await client.query('ROLLBACK TO SAVEPOINT make_partition');
        }
      }
      return true;
    });
    await this.refresh();
  }

  /**
   * Drops the monthly partitions that end at or before `before` (the smallest cutoff of the
   * sites), counting their rows first, and returns how many rows they held. `cutoffOf` is each
   * site's cutoff (null: keeps everything): a partition goes only when every site with rows in
   * it lets them go, checked under a lock that keeps writers out, so that a site whose first
   * (old) events arrived meanwhile loses nothing. Each partition goes in its own transaction that
   * waits at most a few seconds for its locks (dropping one locks the whole table): one that
   * cannot go now is left to the row-wise delete of retention.
   */
  async dropBefore(before: number, cutoffOf: (siteId: string) => number | null): Promise<{ rows: number; dropped: number }> {
    await this.refresh();
    const doomed = this.known.filter((p) => p.from !== -Infinity && p.to <= before);
    let rows = 0;
    let dropped = 0;
    for (const partition of doomed) {
      try {
        const count = await this.underLock(async (client) => {
          await client.query(`SET LOCAL lock_timeout = '5s'`);
          await client.query(`SET LOCAL statement_timeout = ${Math.floor(this.longStatementTimeoutMs)}`);
          // Keeps writers out of the partition between the count and the drop.
          await client.query(`LOCK TABLE ${partition.name} IN SHARE MODE`);
          const { rows: sites } = await client.query<{ site_id: string; n: number }>(
            `SELECT site_id, count(*)::float8 AS n FROM ${partition.name} GROUP BY site_id`,
          );
          if (sites.some((s) => (cutoffOf(s.site_id) ?? -Infinity) < partition.to)) return null;
          await client.query(`DROP TABLE ${partition.name}`);
          return sites.reduce((sum, s) => sum + s.n, 0);
        });
        if (count === null) continue;
        rows += count;
        dropped++;
      } catch (error) {
        // Gone already (another node), or its locks not granted in time: the delete does it.
        if (!isState(error, '42P01') && !isState(error, '55P03') && !isState(error, '40P01')) throw error;
      }
    }
    if (doomed.length) await this.refresh();
    return { rows, dropped };
  }
}
