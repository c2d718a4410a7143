import type { JsonObject } from '@rapport/protocol';
import type { ProductEventRow, ProductEventText, ProductRecord } from './recommendations.js';

/** The columns of `products`, in the order both stores write them. */
export const PRODUCT_COLUMNS = ['site_id', 'product_id', 'sku', 'name', 'price', 'currency', 'category', 'url', 'image_url', 'available', 'source', 'updated_at'] as const;

export interface ProductRow {
  site_id: string;
  product_id: string;
  sku: string | null;
  name: string | null;
  price: number | null;
  currency: string | null;
  category: string | null;
  url: string | null;
  image_url: string | null;
  available: number | boolean | null;
  source: 'feed' | 'observed';
  updated_at: number | string;
}

export const productFromRow = (r: ProductRow): ProductRecord => ({
  siteId: r.site_id,
  productId: r.product_id,
  sku: r.sku,
  name: r.name,
  price: r.price === null ? null : Number(r.price),
  currency: r.currency,
  category: r.category,
  url: r.url,
  imageUrl: r.image_url,
  available: r.available === null ? null : Boolean(r.available),
  source: r.source,
  updatedAt: Number(r.updated_at),
});

export const productToParams = (p: ProductRecord): Record<(typeof PRODUCT_COLUMNS)[number], unknown> => ({
  site_id: p.siteId,
  product_id: p.productId,
  sku: p.sku,
  name: p.name,
  price: p.price,
  currency: p.currency,
  category: p.category,
  url: p.url,
  image_url: p.imageUrl,
  available: p.available === null ? null : p.available ? 1 : 0,
  source: p.source,
  updated_at: p.updatedAt,
});

/**
 * The upsert of one product, the same SQL on both stores but for how parameters are named. A
 * feed row replaces every field; an observed row updates an observed product with what it knows
 * and only fills the gaps of a feed product (the feed is the shop's word, events are hearsay).
 */
export function upsertProductSql(param: (column: string) => string): string {
  return upsertProductsFromSql(`VALUES (${PRODUCT_COLUMNS.map(param).join(', ')})`);
}

/** The same upsert of the rows of `source` (a VALUES list, or PostgreSQL's SELECT from unnest). */
export function upsertProductsFromSql(source: string): string {
  const fields = ['sku', 'name', 'price', 'currency', 'category', 'url', 'image_url', 'available'];
  const set = fields.map(
    (f) => `${f} = CASE WHEN excluded.source = 'feed' THEN excluded.${f} WHEN products.source = 'feed' THEN COALESCE(products.${f}, excluded.${f}) ELSE COALESCE(excluded.${f}, products.${f}) END`,
  );
  return `INSERT INTO products (${PRODUCT_COLUMNS.join(', ')}) ${source}
    ON CONFLICT (site_id, product_id) DO UPDATE SET ${set.join(', ')},
      source = CASE WHEN excluded.source = 'feed' OR products.source = 'feed' THEN 'feed' ELSE 'observed' END,
      updated_at = excluded.updated_at`;
}

export interface ProductEventSqlRow {
  seq: number | string;
  profile_id: string;
  name: string;
  session_id: string | null;
  timestamp: number | string;
  /** SQLite extracts the properties in SQL; PostgreSQL sends the whole event (`data`), parsed here. */
  properties?: string | null;
  data?: string;
}

/** The properties of an event's stored JSON. */
export const propertiesOf = (data: string): JsonObject | null => (JSON.parse(data) as { message?: { properties?: JsonObject } }).message?.properties ?? null;

export const productEventFromRow = (r: ProductEventSqlRow): ProductEventRow => ({
  seq: Number(r.seq),
  profileId: r.profile_id,
  event: r.name,
  sessionId: r.session_id,
  at: Number(r.timestamp),
  properties: r.data !== undefined ? propertiesOf(r.data) : r.properties ? (JSON.parse(r.properties) as JsonObject) : null,
});

export const productEventTextFromRow = (r: ProductEventSqlRow & { data: string }): ProductEventText => ({
  seq: Number(r.seq),
  profileId: r.profile_id,
  event: r.name,
  sessionId: r.session_id,
  at: Number(r.timestamp),
  data: r.data,
});
