import type Database from 'better-sqlite3';
import { encodeCursor, decodeCursorParts } from '../cursor.js';
import { PRODUCT_EVENTS, RECOMMENDATION_EVENT_NAMES, type EventName, type ProductEventRow, type ProductEventText, type ProductQuery, type ProductRecord, type RecommendationStore, type StoredModel } from '../recommendations.js';
import { pageOf } from '../rows.js';
import type { Page } from '../types.js';
import { PRODUCT_COLUMNS, productEventFromRow, productEventTextFromRow, productFromRow, productToParams, upsertProductSql, type ProductEventSqlRow, type ProductRow } from '../recommendation-rows.js';

/**
 * The catalog and the trained models (migration 12) on SQLite. Writes go through the store's
 * group commit; the event scans read along `events_track_name` (site, name, time).
 */
/**
 * A page of a site's track events of `names` (an SQL list) from `@since` on, oldest first, along
 * `events_track_name`; `json` is what the row carries of the event's JSON.
 */
const scanSql = (names: string, json: string) => `SELECT seq, profile_id, name, session_id, timestamp, ${json} FROM events
  WHERE site_id = @site AND type = 'track' AND name IN (${names}) AND timestamp >= @since
    AND (timestamp > @at OR (timestamp = @at AND seq > @seq))
  ORDER BY timestamp, seq LIMIT @limit`;

/** The training's scan (`productEventTexts`): the whole JSON, parsed by the training thread. */
const TEXTS_SQL = scanSql(PRODUCT_EVENTS.map((n) => `'${n}'`).join(', '), 'data');

export class SqliteRecommendations implements RecommendationStore {
  private readonly sql;
  /** The event scan per list of names (constants of the code, see RECOMMENDATION_EVENT_NAMES). */
  private readonly scans = new Map<string, Database.Statement>();

  /**
   * `read`: runs a query on the store's read worker (its own connection, off the event loop), or
   * here for a database without one (in memory).
   */
  constructor(
    private readonly db: Database.Database,
    private readonly write: <T>(work: () => T) => Promise<T>,
    private readonly read: (sql: string, params: Record<string, unknown>) => Promise<unknown[]>,
  ) {
    const names = PRODUCT_EVENTS.map((n) => `'${n}'`).join(', ');
    this.sql = {
      upsert: db.prepare(upsertProductSql((c) => `@${c}`)),
      saveModel: db.prepare(
        `INSERT INTO recommendation_models (site_id, trained_at, stats, data) VALUES (?, ?, ?, ?)
         ON CONFLICT (site_id) DO UPDATE SET trained_at = excluded.trained_at, stats = excluded.stats, data = excluded.data`,
      ),
      getProducts: db.prepare('SELECT * FROM products WHERE site_id = ? AND product_id IN (SELECT value FROM json_each(?))'),
      loadModel: db.prepare('SELECT * FROM recommendation_models WHERE site_id = ?'),
      modelStatus: db.prepare('SELECT site_id, trained_at, stats FROM recommendation_models WHERE site_id = ?'),
      trainedAt: db.prepare('SELECT trained_at FROM recommendation_models WHERE site_id = ?').pluck(),
      counts: db.prepare(
        `SELECT SUM(source = 'feed') AS feed, SUM(source = 'observed') AS observed, SUM(available = 0) AS unavailable FROM products WHERE site_id = ?`,
      ),
      profileEvents: db.prepare(
        `SELECT seq, profile_id, name, session_id, timestamp, json_extract(data, '$.message.properties') AS properties FROM events
         WHERE site_id = ? AND profile_id = ? AND type = 'track' AND name IN (${names})
         ORDER BY timestamp DESC LIMIT ?`,
      ),
    };
  }

  async upsertProducts(products: ProductRecord[]): Promise<void> {
    if (products.length === 0) return;
    await this.write(() => {
      for (const product of products) this.sql.upsert.run(productToParams(product));
    });
  }

  async getProducts(siteId: string, productIds: string[]): Promise<ProductRecord[]> {
    if (productIds.length === 0) return [];
    // The ids as one JSON parameter: one statement prepared once, whatever their number.
    return (this.sql.getProducts.all(siteId, JSON.stringify(productIds)) as ProductRow[]).map(productFromRow);
  }

  async listProducts(query: ProductQuery): Promise<Page<ProductRecord>> {
    const where = ['site_id = ?'];
    const params: unknown[] = [query.siteId];
    if (query.q) {
      const like = `%${query.q.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c)}%`;
      where.push(`(lower(product_id) LIKE ? ESCAPE '\\' OR lower(name) LIKE ? ESCAPE '\\' OR lower(sku) LIKE ? ESCAPE '\\')`);
      params.push(like, like, like);
    }
    if (query.category) (where.push('category = ?'), params.push(query.category));
    const after = query.cursor ? decodeCursorParts(query.cursor)?.[0] : undefined;
    if (typeof after === 'string') (where.push('product_id > ?'), params.push(after));
    const rows = this.db
      .prepare(`SELECT ${PRODUCT_COLUMNS.join(', ')} FROM products WHERE ${where.join(' AND ')} ORDER BY product_id LIMIT ?`)
      .all(...params, query.limit + 1) as ProductRow[];
    return pageOf(rows, query.limit, productFromRow, (r) => encodeCursor(r.product_id));
  }

  async countProducts(siteId: string) {
    const row = this.sql.counts.get(siteId) as { feed: number | null; observed: number | null; unavailable: number | null };
    return { feed: row.feed ?? 0, observed: row.observed ?? 0, unavailable: row.unavailable ?? 0 };
  }

  async productEvents(siteId: string, since: number, after: { at: number; seq: number } | null, limit: number, names: readonly EventName[] = PRODUCT_EVENTS): Promise<ProductEventRow[]> {
    const rows = this.scan(names).all({ site: siteId, since, at: after?.at ?? Number.MIN_SAFE_INTEGER, seq: after?.seq ?? Number.MIN_SAFE_INTEGER, limit }) as ProductEventSqlRow[];
    return rows.map(productEventFromRow);
  }

  async productEventTexts(siteId: string, since: number, after: { at: number; seq: number } | null, limit: number): Promise<ProductEventText[]> {
    const rows = (await this.read(TEXTS_SQL, { site: siteId, since, at: after?.at ?? Number.MIN_SAFE_INTEGER, seq: after?.seq ?? Number.MIN_SAFE_INTEGER, limit })) as Array<ProductEventSqlRow & { data: string }>;
    return rows.map(productEventTextFromRow);
  }

  private scan(names: readonly EventName[]): Database.Statement {
    const key = names.join('|');
    let statement = this.scans.get(key);
    if (!statement) {
      // Only names of the list: they are written into the SQL.
      const list = names.filter((n) => (RECOMMENDATION_EVENT_NAMES as readonly string[]).includes(n)).map((n) => `'${n}'`).join(', ');
      statement = this.db.prepare(scanSql(list, "json_extract(data, '$.message.properties') AS properties"));
      this.scans.set(key, statement);
    }
    return statement;
  }

  async profileProductEvents(siteId: string, profileId: string, limit: number): Promise<ProductEventRow[]> {
    return (this.sql.profileEvents.all(siteId, profileId, limit) as ProductEventSqlRow[]).map(productEventFromRow);
  }

  async saveModel(model: StoredModel): Promise<void> {
    await this.write(() => this.sql.saveModel.run(model.siteId, model.trainedAt, JSON.stringify(model.stats), model.data));
  }

  async loadModel(siteId: string): Promise<StoredModel | null> {
    const row = this.sql.loadModel.get(siteId) as { site_id: string; trained_at: number; stats: string; data: string } | undefined;
    return row ? { siteId: row.site_id, trainedAt: row.trained_at, stats: JSON.parse(row.stats), data: row.data } : null;
  }

  async modelStatus(siteId: string): Promise<Omit<StoredModel, 'data'> | null> {
    const row = this.sql.modelStatus.get(siteId) as { site_id: string; trained_at: number; stats: string } | undefined;
    return row ? { siteId: row.site_id, trainedAt: row.trained_at, stats: JSON.parse(row.stats) } : null;
  }

  async modelTrainedAt(siteId: string): Promise<number | null> {
    return (this.sql.trainedAt.get(siteId) as number | undefined) ?? null;
  }
}
