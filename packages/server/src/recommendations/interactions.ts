import type { JsonObject } from '@rapport/protocol';
import type { ProductEventRow, ProductFields } from '../store/recommendations.js';
import type { Interaction, InteractionKind } from './models/types.js';

/** The products of one Order Completed that count: more lines than this are a bulk order, not a basket. */
export const MAX_ORDER_LINES = 100;
const MAX_ID_LENGTH = 200;
const MAX_TEXT_LENGTH = 500;
const MAX_URL_LENGTH = 2048;

const KIND_OF: Record<string, InteractionKind> = { 'Product Viewed': 'view', 'Product Added': 'cart', 'Order Completed': 'order' };

/** What an event says about a product: the catalog's fields, null where it says nothing. */
export type ObservedProduct = ProductFields;

/**
 * The interactions of one stored e-commerce event (one per product; an order gives one per line)
 * and what it says about each product, for the catalog's observed products. Properties are read
 * as the Segment e-commerce spec names them (`product_id`, `sku`, `name`, `price`, `category`,
 * `url`, `image_url`; an order's `order_id` and `products[]`); `id` stands in for `product_id` as
 * in the spec's older version. Anything malformed is left out, never thrown.
 *
 * @example
 * readProductEvent({ event: 'Product Viewed', properties: { product_id: 'p1', name: 'Tent' }, ... })
 * // → { interactions: [{ productId: 'p1', kind: 'view', ... }], products: [{ productId: 'p1', name: 'Tent', ... }] }
 */
export function readProductEvent(row: ProductEventRow): { interactions: Interaction[]; products: ObservedProduct[] } {
  const kind = KIND_OF[row.event];
  const props = row.properties ?? {};
  if (!kind) return { interactions: [], products: [] };
  const lines = kind === 'order' ? (Array.isArray(props.products) ? props.products.slice(0, MAX_ORDER_LINES) : []) : [props];
  const orderId = kind === 'order' ? idOf(props.order_id) ?? idOf(props.orderId) : null;
  const currency = currencyOf(props.currency);
  const interactions: Interaction[] = [];
  const products: ObservedProduct[] = [];
  for (const line of lines) {
    if (!isObject(line)) continue;
    const product = productOf(line, currency);
    if (!product) continue;
    products.push(product);
    interactions.push({ profileId: row.profileId, productId: product.productId, kind, at: row.at, sessionId: row.sessionId, orderId, category: product.category });
  }
  return { interactions, products };
}

function productOf(p: JsonObject, currency: string | null): ObservedProduct | null {
  const productId = idOf(p.product_id) ?? idOf(p.id);
  if (!productId) return null;
  return {
    productId,
    sku: textOf(p.sku),
    name: textOf(p.name),
    price: typeof p.price === 'number' && Number.isFinite(p.price) && p.price >= 0 ? p.price : null,
    currency: currencyOf(p.currency) ?? currency,
    category: textOf(p.category),
    url: urlOf(p.url),
    imageUrl: urlOf(p.image_url),
    available: null,
  };
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function idOf(v: unknown): string | null {
  const id = typeof v === 'string' ? v.trim() : typeof v === 'number' && Number.isFinite(v) ? String(v) : '';
  return id && id.length <= MAX_ID_LENGTH ? id : null;
}

function textOf(v: unknown): string | null {
  const text = typeof v === 'string' ? v.trim() : '';
  return text ? text.slice(0, MAX_TEXT_LENGTH) : null;
}

const currencyOf = (v: unknown): string | null => (typeof v === 'string' && /^[A-Za-z]{3}$/.test(v) ? v.toUpperCase() : null);

/** Only absolute http(s) URLs: a product card links and shows images from here. */
function urlOf(v: unknown): string | null {
  if (typeof v !== 'string' || v.length > MAX_URL_LENGTH) return null;
  try {
    const url = new URL(v);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}
