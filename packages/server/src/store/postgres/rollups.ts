import type { DayCounts, RollupWrites } from '../../reports/rollups.js';
import { touchColumns, type TouchField } from '../store.js';
import { pgTexts } from './rows.js';

/**
 * Each day's rows are spread over this many shards: a transaction writes all of its increments
 * to one shard (see RollupShards), so that concurrent writers for one site rarely wait on the
 * same row. Readers add the shards up.
 */
export const ROLLUP_SHARDS = 16;

/**
 * Gives each of a node's ingest transactions a rollup shard that none of its others holds, from
 * the write until commit or rollback: a row lock of the rollups is held through the commit's
 * flush, so transactions of one node that shared a shard at random queued behind each other's
 * commits (20-40 ms waits at 50 concurrent batches). Each node starts at a random shard, so the
 * shards of two nodes overlap only when together they hold many.
 *
 * @example
 * const shard = shards.take();
 * try { await write(shard); await commit(); } finally { shards.release(shard); }
 */
export class RollupShards {
  private readonly holders = new Uint32Array(ROLLUP_SHARDS);
  private readonly first = Math.floor(Math.random() * ROLLUP_SHARDS);

  /** The first free shard from this node's own, else the least held one. */
  take(): number {
    let best = this.first;
    for (let i = 0; i < ROLLUP_SHARDS; i++) {
      const shard = (this.first + i) % ROLLUP_SHARDS;
      if (this.holders[shard] === 0) {
        best = shard;
        break;
      }
      if (this.holders[shard] < this.holders[best]) best = shard;
    }
    this.holders[best]++;
    return best;
  }

  release(shard: number) {
    if (this.holders[shard] > 0) this.holders[shard]--;
  }
}

const DAY_COLUMNS = ['events', 'visitors', 'new_visitors', 'sessions', 'orders', 'revenue', 'customers'] as const;
const TOUCH_COLUMNS = ['visitors', 'sessions', 'customers', 'orders', 'revenue'] as const;
const TOUCH_KEY = ['touch', 'medium', 'source', 'campaign', 'term'] as const;
const increments = (table: string, columns: readonly string[]) => columns.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ');

type Param = (values: unknown[], type: string) => string;

/**
 * The parts of the ingest write statement (data-modifying CTEs, see IngestTx.write) that add a
 * call's rollup increments, in the key order the pipeline sorted them in, so that two
 * transactions on one shard lock its rows in the same order.
 */
export function rollupParts(writes: RollupWrites, array: Param, shard: string): string[] {
  const parts: string[] = [];
  const days = writes.days;
  if (days.length) {
    const columns = DAY_COLUMNS.map((c) => array(days.map((d) => d[camel(c) as keyof DayCounts]), 'bigint'));
    parts.push(`rollup_days_added AS (
      INSERT INTO rollup_days (site_id, day, shard, ${DAY_COLUMNS.join(', ')})
      SELECT $1, r.day, ${shard}, ${DAY_COLUMNS.map((c) => `r.${c}`).join(', ')}
      FROM unnest(${array(days.map((d) => d.day), 'integer')}, ${columns.join(', ')}) WITH ORDINALITY AS r(day, ${DAY_COLUMNS.join(', ')}, n)
      ORDER BY r.n
      ON CONFLICT (site_id, day, shard) DO UPDATE SET ${increments('rollup_days', DAY_COLUMNS)})`);
  }
  const touches = writes.touches;
  if (touches.length) {
    const keys = TOUCH_KEY.map((c) => array(touches.map((t) => t[c]), 'text'));
    const counts = TOUCH_COLUMNS.map((c) => array(touches.map((t) => t[c]), 'bigint'));
    parts.push(`rollup_touches_added AS (
      INSERT INTO rollup_touches (site_id, day, ${TOUCH_KEY.join(', ')}, shard, ${TOUCH_COLUMNS.join(', ')})
      SELECT $1, r.day, ${TOUCH_KEY.map((c) => `r.${c}`).join(', ')}, ${shard}, ${TOUCH_COLUMNS.map((c) => `r.${c}`).join(', ')}
      FROM unnest(${array(touches.map((t) => t.day), 'integer')}, ${keys.join(', ')}, ${counts.join(', ')})
        WITH ORDINALITY AS r(day, ${TOUCH_KEY.join(', ')}, ${TOUCH_COLUMNS.join(', ')}, n)
      ORDER BY r.n
      ON CONFLICT (site_id, day, ${TOUCH_KEY.join(', ')}, shard) DO UPDATE SET ${increments('rollup_touches', TOUCH_COLUMNS)})`);
  }
  return parts;
}

const camel = (column: string) => column.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

export const ROLLUP_DAYS_SQL = `
  SELECT day, SUM(events) AS events, SUM(visitors) AS visitors, SUM(new_visitors) AS "newVisitors", SUM(sessions) AS sessions,
    SUM(orders) AS orders, SUM(revenue) AS revenue, SUM(customers) AS customers
  FROM rollup_days WHERE site_id = $1 AND day BETWEEN $2 AND $3 GROUP BY day ORDER BY day`;

export const rollupTouchesSql = (by: TouchField[]) => `
  SELECT ${touchColumns(by)}, SUM(visitors) AS visitors, SUM(sessions) AS sessions, SUM(customers) AS customers,
    SUM(orders) AS orders, SUM(revenue) AS revenue
  FROM rollup_touches WHERE site_id = $1 AND touch = $2 AND day BETWEEN $3 AND $4
  GROUP BY ${touchColumns(by)}`;

/** The statements of a rebuild's replacement, in one transaction: every row of the site becomes shard 0. */
export function replaceRollupsStatements(siteId: string, writes: RollupWrites): Array<{ text: string; values: unknown[] }> {
  const statements: Array<{ text: string; values: unknown[] }> = [
    { text: 'DELETE FROM rollup_days WHERE site_id = $1', values: [siteId] },
    { text: 'DELETE FROM rollup_touches WHERE site_id = $1', values: [siteId] },
  ];
  // In chunks: one statement's arrays stay a few megabytes however long the site's history.
  for (let i = 0; i < Math.max(writes.days.length, writes.touches.length); i += 5_000) {
    const values: unknown[] = [siteId];
    const array: Param = (list, type) => (values.push(type === 'text' ? pgTexts(list) : list), `$${values.length}::${type}[]`);
    const parts = rollupParts({ days: writes.days.slice(i, i + 5_000), touches: writes.touches.slice(i, i + 5_000) }, array, '0');
    if (parts.length) statements.push({ text: `WITH ${parts.join(',\n')} SELECT $1::text`, values });
  }
  return statements;
}

type Query = (text: string, values?: unknown[]) => Promise<{ rows: any[] }>;

/**
 * An erasure's negative counts, in the caller's transaction. The rows of each touch it changes
 * are gathered from every shard into one, which is deleted when it comes to zero: no row is left
 * that only the erased person made.
 */
export async function subtractRollups(q: Query, siteId: string, writes: RollupWrites): Promise<void> {
  const values: unknown[] = [siteId];
  const array: Param = (list, type) => (values.push(type === 'text' ? pgTexts(list) : list), `$${values.length}::${type}[]`);
  const parts = rollupParts({ days: writes.days, touches: [] }, array, '0');
  if (parts.length) await q(`WITH ${parts.join(',\n')} SELECT $1::text`, values);
  if (writes.touches.length === 0) return;
  const t = writes.touches;
  const { rows } = await q(
    `DELETE FROM rollup_touches r
     USING unnest($2::integer[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS k(day, touch, medium, source, campaign, term)
     WHERE r.site_id = $1 AND r.day = k.day AND r.touch = k.touch AND r.medium = k.medium AND r.source = k.source
       AND r.campaign = k.campaign AND r.term = k.term
     RETURNING r.*`,
    [siteId, t.map((x) => x.day), ...TOUCH_KEY.map((c) => pgTexts(t.map((x) => x[c])))],
  );
  const sums = new Map<string, RollupWrites['touches'][number]>();
  for (const row of [...rows, ...t]) {
    const id = JSON.stringify([row.day, ...TOUCH_KEY.map((c) => row[c])]);
    const sum = sums.get(id) ?? { day: row.day, touch: row.touch, medium: row.medium, source: row.source, campaign: row.campaign, term: row.term, visitors: 0, sessions: 0, customers: 0, orders: 0, revenue: 0 };
    for (const c of TOUCH_COLUMNS) sum[c] += Number(row[c]);
    sums.set(id, sum);
  }
  const left = [...sums.values()].filter((s) => TOUCH_COLUMNS.some((c) => s[c] !== 0)).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  const rest: unknown[] = [siteId];
  const restArray: Param = (list, type) => (rest.push(type === 'text' ? pgTexts(list) : list), `$${rest.length}::${type}[]`);
  const insert = rollupParts({ days: [], touches: left }, restArray, '0');
  if (insert.length) await q(`WITH ${insert.join(',\n')} SELECT $1::text`, rest);
}
