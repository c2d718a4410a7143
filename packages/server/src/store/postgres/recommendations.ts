import type pg from 'pg';
import { decodeCursorParts, encodeCursor } from '../cursor.js';
import { PRODUCT_EVENTS, type EventName, type ProductEventRow, type ProductEventText, type ProductQuery, type ProductRecord, type RecommendationStore, type StoredModel } from '../recommendations.js';
import { PRODUCT_COLUMNS, productEventFromRow, productEventTextFromRow, productFromRow, productToParams, upsertProductsFromSql, type ProductEventSqlRow, type ProductRow } from '../recommendation-rows.js';
import { pageOf } from '../rows.js';
import type { Page } from '../types.js';
import { pgText, pgTexts } from './rows.js';

type Query = <R extends pg.QueryResultRow = any>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/** The type of each column's array in the upsert of many rows (`unnest`). */
const ARRAY_TYPES: Record<(typeof PRODUCT_COLUMNS)[number], string> = {
  site_id: 'text[]', product_id: 'text[]', sku: 'text[]', name: 'text[]', price: 'float8[]', currency: 'text[]', category: 'text[]',
  url: 'text[]', image_url: 'text[]', available: 'boolean[]', source: 'text[]', updated_at: 'int8[]',
};
const UPSERT_MANY = upsertProductsFromSql(`SELECT * FROM unnest(${PRODUCT_COLUMNS.map((c, i) => `$${i + 1}::${ARRAY_TYPES[c]}`).join(', ')})`);
/** Rows per statement: parameters are whole arrays, so only the statement's size bounds it. */
const UPSERT_ROWS = 5_000;
const NAMES = [...PRODUCT_EVENTS];

/**
 * The catalog and the trained models (migration 9) on PostgreSQL, shared by every node. Event
 * scans read along `events_track_name` (site, name, time) and parse the event JSON here, in
 * the node, rather than in the database that every node shares.
 */
export class PostgresRecommendations implements RecommendationStore {
  constructor(
    private readonly query: Query,
    private readonly transaction: <T>(work: (q: Query) => Promise<T>) => Promise<T>,
  ) {}

  async upsertProducts(products: ProductRecord[]): Promise<void> {
    if (products.length === 0) return;
    // One statement per run of distinct products (a statement may not update one row twice):
    // a feed of 100,000 rows is a hundred statements, not 100,000 round trips.
    const runs: ProductRecord[][] = [[]];
    let ids = new Set<string>();
    for (const product of products) {
      if (ids.has(product.productId) || runs[runs.length - 1].length === UPSERT_ROWS) {
        runs.push([]);
        ids = new Set();
      }
      ids.add(product.productId);
      runs[runs.length - 1].push(product);
    }
    await this.transaction(async (q) => {
      for (const run of runs) {
        const params = run.map(productToParams);
        // PostgreSQL keeps availability as a boolean, not SQLite's 1 and 0.
        const columns = PRODUCT_COLUMNS.map((c) => (c === 'available' ? run.map((p) => p.available) : params.map((row) => row[c])));
        await q(UPSERT_MANY, columns.map((values) => pgTexts(values)));
      }
    });
  }

  async getProducts(siteId: string, productIds: string[]): Promise<ProductRecord[]> {
    if (productIds.length === 0) return [];
    const { rows } = await this.query<ProductRow>('SELECT * FROM products WHERE site_id = $1 AND product_id = ANY($2)', [siteId, pgTexts(productIds)]);
    return rows.map(productFromRow);
  }

  async listProducts(query: ProductQuery): Promise<Page<ProductRecord>> {
    const params: unknown[] = [query.siteId];
    const param = (value: unknown) => (params.push(typeof value === 'string' ? pgText(value) : value), `$${params.length}`);
    const where = ['site_id = $1'];
    if (query.q) {
      const like = param(`%${query.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`);
      where.push(`(product_id ILIKE ${like} OR name ILIKE ${like} OR sku ILIKE ${like})`);
    }
    if (query.category) where.push(`category = ${param(query.category)}`);
    const after = query.cursor ? decodeCursorParts(query.cursor)?.[0] : undefined;
    if (typeof after === 'string') where.push(`product_id > ${param(after)}`);
    const { rows } = await this.query<ProductRow>(
      `SELECT ${PRODUCT_COLUMNS.join(', ')} FROM products WHERE ${where.join(' AND ')} ORDER BY product_id LIMIT ${param(query.limit + 1)}`,
      params,
    );
    return pageOf(rows, query.limit, productFromRow, (r) => encodeCursor(r.product_id));
  }

  async countProducts(siteId: string) {
    const { rows } = await this.query<{ feed: string; observed: string; unavailable: string }>(
      `SELECT COUNT(*) FILTER (WHERE source = 'feed') AS feed, COUNT(*) FILTER (WHERE source = 'observed') AS observed,
         COUNT(*) FILTER (WHERE available = false) AS unavailable FROM products WHERE site_id = $1`,
      [siteId],
    );
    return { feed: Number(rows[0].feed), observed: Number(rows[0].observed), unavailable: Number(rows[0].unavailable) };
  }

  async productEvents(siteId: string, since: number, after: { at: number; seq: number } | null, limit: number, names: readonly EventName[] = NAMES): Promise<ProductEventRow[]> {
    return (await this.scanEvents(siteId, since, after, limit, names)).map(productEventFromRow);
  }

  async productEventTexts(siteId: string, since: number, after: { at: number; seq: number } | null, limit: number): Promise<ProductEventText[]> {
    return (await this.scanEvents(siteId, since, after, limit, NAMES)).map(productEventTextFromRow);
  }

  /** A page of the events of `names` from `since` on, oldest first, with their stored JSON. */
  private async scanEvents(siteId: string, since: number, after: { at: number; seq: number } | null, limit: number, names: readonly EventName[]) {
    const { rows } = await this.query<ProductEventSqlRow & { data: string }>(
      `SELECT seq, profile_id, name, session_id, timestamp, data FROM events
       WHERE site_id = $1 AND type = 'track' AND name = ANY($2) AND timestamp >= $3 AND (timestamp, seq) > ($4, $5)
       ORDER BY timestamp, seq LIMIT $6`,
      [siteId, [...names], since, after?.at ?? Number.MIN_SAFE_INTEGER, after?.seq ?? Number.MIN_SAFE_INTEGER, limit],
    );
    return rows;
  }

  async profileProductEvents(siteId: string, profileId: string, limit: number): Promise<ProductEventRow[]> {
    const { rows } = await this.query<ProductEventSqlRow>(
      `SELECT seq, profile_id, name, session_id, timestamp, data FROM events
       WHERE site_id = $1 AND profile_id = $2 AND type = 'track' AND name = ANY($3) ORDER BY timestamp DESC, seq DESC LIMIT $4`,
      [siteId, profileId, NAMES, limit],
    );
    return rows.map(productEventFromRow);
  }

  async saveModel(model: StoredModel): Promise<void> {
    await this.query(
      `INSERT INTO recommendation_models (site_id, trained_at, stats, data) VALUES ($1, $2, $3, $4)
       ON CONFLICT (site_id) DO UPDATE SET trained_at = excluded.trained_at, stats = excluded.stats, data = excluded.data`,
      [model.siteId, model.trainedAt, JSON.stringify(model.stats), pgText(model.data)],
    );
  }

  async loadModel(siteId: string): Promise<StoredModel | null> {
    const { rows } = await this.query<{ site_id: string; trained_at: string; stats: string; data: string }>('SELECT * FROM recommendation_models WHERE site_id = $1', [siteId]);
    const row = rows[0];
    return row ? { siteId: row.site_id, trainedAt: Number(row.trained_at), stats: JSON.parse(row.stats), data: row.data } : null;
  }

  async modelStatus(siteId: string): Promise<Omit<StoredModel, 'data'> | null> {
    const { rows } = await this.query<{ site_id: string; trained_at: string; stats: string }>('SELECT site_id, trained_at, stats FROM recommendation_models WHERE site_id = $1', [siteId]);
    const row = rows[0];
    return row ? { siteId: row.site_id, trainedAt: Number(row.trained_at), stats: JSON.parse(row.stats) } : null;
  }

  async modelTrainedAt(siteId: string): Promise<number | null> {
    const { rows } = await this.query<{ trained_at: string }>('SELECT trained_at FROM recommendation_models WHERE site_id = $1', [siteId]);
    return rows[0] ? Number(rows[0].trained_at) : null;
  }
}
