import { describe, expect, it } from 'vitest';
import type { IngestEvent } from '../store/types.js';
import { compileWhere, eventMatcher, messageTriggerKey } from './trigger.js';

const track = (name: string, properties: Record<string, unknown> | null): IngestEvent =>
  ({ type: 'track', name, properties, messageId: 'm1', anonymousId: 'a1' }) as unknown as IngestEvent;

describe('automation triggers', () => {
  it('compares properties as rules do: ignoring case, numbers from numeric strings, nested paths', () => {
    const test = compileWhere({ category: 'laptops', price: { op: 'gte', value: 500 }, 'product.brand': { op: 'in', value: ['acme', 'zeta'] } });
    expect(test({ category: 'Laptops', price: '899', product: { brand: 'ACME' } })).toBe(true);
    expect(test({ category: 'Laptops', price: 499, product: { brand: 'acme' } })).toBe(false);
    expect(test({ category: 'Laptops', price: 899 })).toBe(false);
    expect(test({ category: 'Laptops', price: 899, product: ['acme'] })).toBe(false);
    expect(compileWhere({ coupon: { op: 'exists', value: false } })({})).toBe(true);
    expect(compileWhere(undefined)({})).toBe(true);
  });

  it('matches track events of the trigger name only, with its conditions', () => {
    const match = eventMatcher({ event: 'Product Added', where: { price: { op: 'gt', value: 10 } } })!;
    expect(match(track('product added', { price: 20 }))).toBe(true);
    expect(match(track('Product Added', { price: 5 }))).toBe(false);
    expect(match(track('Product Added', null))).toBe(false);
    expect(match(track('Product Viewed', { price: 20 }))).toBe(false);
    expect(match({ ...track('Product Added', { price: 20 }), type: 'page' } as IngestEvent)).toBe(false);
    expect(eventMatcher({ identified: true })).toBeNull();
  });

  it('keys an occurrence by its message, so a retried message starts no second run', () => {
    expect(messageTriggerKey('a1', 'm1')).toBe(messageTriggerKey('a1', 'm1'));
    expect(messageTriggerKey('a1', 'm1')).not.toBe(messageTriggerKey('a2', 'm1'));
  });
});
