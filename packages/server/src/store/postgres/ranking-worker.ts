import type pg from 'pg';
import { RANKING_SOURCE, type PackedRankings, type packRankings } from '../../profiles/rankings.js';
import type { RankingInput } from '../types.js';
import { JobWorker } from '../job-worker.js';

/** A site's buyers in keyset pages of this many rows. */
const CHUNK = 10_000;

const BUYERS_SQL = `SELECT id, orders, revenue, last_order_at FROM profiles
  WHERE site_id = $1 AND merged_into IS NULL AND (orders > 0 OR revenue > 0) AND id > $2
  ORDER BY id LIMIT $3`;

/**
 * Reads a site's buyers on a connection of its own and ranks them: the job of the worker, given
 * as source text (see JobWorker), so it uses nothing but its arguments and the global `driver`
 * (pg): `pack` is packRankings, passed in because the worker defines it in its own scope.
 */
async function rankings(
  connection: pg.ClientConfig,
  args: { siteId: string; now: number; sql: string; chunk: number },
  pack: typeof packRankings,
): Promise<PackedRankings> {
  // `driver` is the pg module inside the worker.
  const client: pg.Client = new (globalThis as unknown as { driver: typeof pg }).driver.Client(connection);
  await client.connect();
  try {
    const inputs: RankingInput[] = [];
    for (let after = ''; ; ) {
      const { rows } = await client.query(args.sql, [args.siteId, after, args.chunk]);
      for (const r of rows) {
        inputs.push({ id: r.id, orders: Number(r.orders), revenue: Number(r.revenue), lastOrderAt: r.last_order_at === null ? null : Number(r.last_order_at) });
      }
      if (rows.length < args.chunk) break;
      after = rows[rows.length - 1].id;
    }
    return pack(inputs, args.now);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The ABC/RFM rankings of PostgreSQL's sites off the main thread: over a million profiles the
 * sorts take hundreds of milliseconds, which decisions would otherwise wait out.
 *
 * @example
 * const worker = new RankingWorker(connection);
 * const packed = await worker.rank(site.id, Date.now());
 */
export class RankingWorker {
  private readonly worker: JobWorker;

  constructor(connection: pg.ClientConfig) {
    this.worker = new JobWorker({
      driver: 'pg',
      // Jobs find the driver as a global, since the function's source text cannot import it.
      setup: 'globalThis.driver = driver; context = workerData.connection;',
      jobs: `${RANKING_SOURCE}\nconst rankings = ${rankings};\nconst jobs = { rankings: (connection, args) => rankings(connection, args, packRankings) };`,
      data: { connection },
    });
  }

  rank(siteId: string, now: number): Promise<PackedRankings> {
    return this.worker.run<PackedRankings>('rankings', { siteId, now, sql: BUYERS_SQL, chunk: CHUNK });
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
