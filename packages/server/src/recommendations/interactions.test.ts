import { describe, expect, it } from 'vitest';
import type { ProductEventRow } from '../store/recommendations.js';
import { MAX_ORDER_LINES, readProductEvent } from './interactions.js';

const row = (event: string, properties: Record<string, unknown>): ProductEventRow => ({ profileId: 'pr1', event, sessionId: 's1', at: 1_000, properties, seq: 1 });

describe('readProductEvent', () => {
  it('reads a view and a cart as one interaction each, with what they say about the product', () => {
    const viewed = readProductEvent(row('Product Viewed', { product_id: 'p1', sku: 'SKU-1', name: ' Tent ', price: 120, currency: 'eur', category: 'camping', url: 'https://shop.example/p1', image_url: 'https://cdn.example/p1.jpg' }));
    expect(viewed.interactions).toEqual([{ profileId: 'pr1', productId: 'p1', kind: 'view', at: 1_000, sessionId: 's1', orderId: null, category: 'camping' }]);
    expect(viewed.products).toEqual([{ productId: 'p1', sku: 'SKU-1', name: 'Tent', price: 120, currency: 'EUR', category: 'camping', url: 'https://shop.example/p1', imageUrl: 'https://cdn.example/p1.jpg', available: null }]);
    // The spec's older `id`, a numeric id.
    expect(readProductEvent(row('Product Added', { id: 42 })).interactions[0]).toMatchObject({ productId: '42', kind: 'cart' });
  });

  it('reads an order as one interaction per line of its basket, with the order id and currency', () => {
    const read = readProductEvent(row('Order Completed', { order_id: 'o-1', currency: 'USD', products: [{ product_id: 'a', price: 5 }, { product_id: 'b', currency: 'EUR' }, 'junk', { name: 'no id' }] }));
    expect(read.interactions.map((i) => [i.productId, i.kind, i.orderId])).toEqual([['a', 'order', 'o-1'], ['b', 'order', 'o-1']]);
    expect(read.products.map((p) => [p.productId, p.currency])).toEqual([['a', 'USD'], ['b', 'EUR']]);
  });

  it('leaves out what is malformed or unsafe instead of throwing', () => {
    const read = readProductEvent(row('Product Viewed', { product_id: 'p', price: -3, url: 'javascript:alert(1)', image_url: '/relative.jpg', currency: 'euro', name: 7 }));
    expect(read.products[0]).toMatchObject({ price: null, url: null, imageUrl: null, currency: null, name: null });
    expect(readProductEvent(row('Product Viewed', { product_id: 'x'.repeat(201) })).interactions).toEqual([]);
    expect(readProductEvent(row('Product Viewed', { product_id: '' })).interactions).toEqual([]);
    expect(readProductEvent(row('Order Completed', { products: 'nope' })).interactions).toEqual([]);
    expect(readProductEvent({ ...row('Signed Up', { product_id: 'p' }) }).interactions).toEqual([]);
    expect(readProductEvent({ ...row('Product Viewed', {}), properties: null }).interactions).toEqual([]);
  });

  it(`counts at most ${MAX_ORDER_LINES} lines of one order`, () => {
    const products = Array.from({ length: MAX_ORDER_LINES + 50 }, (_, i) => ({ product_id: `p${i}` }));
    expect(readProductEvent(row('Order Completed', { order_id: 'bulk', products })).interactions).toHaveLength(MAX_ORDER_LINES);
  });
});
