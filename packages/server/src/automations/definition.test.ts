import { describe, expect, it } from 'vitest';
import { durationMs, MAX_STEPS, validateDefinition } from './definition.js';
import { newWebhookSecret } from './webhook.js';

const paths = (input: Record<string, unknown>) => {
  const result = validateDefinition(input);
  return result.ok ? [] : result.errors.map((e) => e.path);
};

describe('automation definitions', () => {
  it('accepts cart abandonment and fills in the defaults', () => {
    const result = validateDefinition({
      trigger: { event: 'Product Added', where: { price: { op: 'gte', value: 10 }, category: 'laptops' } },
      steps: [
        { waitFor: { event: 'Order Completed', within: '1h' }, else: [{ coupon: { prefix: 'CART-' } }, { email: { subject: 'Your cart', text: 'Use {{traits.coupon}}' } }] },
      ],
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.definition).toMatchObject({ conditions: null, exit: null, holdoutPercent: 0, cap: null });
    expect(result.definition.steps[0]).toMatchObject({ then: [], else: [{ coupon: { prefix: 'CART-' } }, {}] });
  });

  it('accepts every trigger, step and action of the language', () => {
    const secret = newWebhookSecret();
    for (const trigger of [{ segmentEntered: 'seg_1' }, { segmentLeft: 'seg_1' }, { attribute: 'daysSinceLastOrder', reaches: 90 }, { identified: true }]) {
      expect(paths({ trigger, steps: [{ wait: '1d' }] })).toEqual([]);
    }
    const steps = [
      { wait: '30m' },
      { if: { field: 'computed.orders', op: 'gt', value: 0 }, then: [{ tag: { add: 'buyer' } }], else: [{ tag: { remove: 'buyer' } }] },
      { webhook: { url: 'https://example.com/hook', secret } },
      { setTrait: { winback: true, note: null } },
      { offer: { id: 'off_1', days: 7 } },
    ];
    expect(paths({ trigger: { event: 'x' }, steps, exit: { event: 'Order Completed' }, holdoutPercent: 10, cap: { runs: 1, days: 30 } })).toEqual([]);
  });

  it('names the path of every problem, however deep', () => {
    const result = validateDefinition({
      trigger: { event: '' },
      conditions: { field: 'computed.orders', op: 'bigger', value: 1 },
      steps: [
        { wait: '1 hour' },
        { waitFor: { event: 'Order Completed', within: '1h' }, else: [{ webhook: { url: 'javascript:alert(1)', secret: 'nope' } }] },
        { email: { subject: 'a\r\nBcc: x@evil.test', text: 'hi' } },
        { wait: '1h', webhook: {} },
      ],
      exit: {},
      holdoutPercent: 100,
      cap: { runs: 0, days: 1.5 },
      extra: 1,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.path).sort()).toEqual(
      [
        'extra',
        'trigger.event',
        'conditions.op',
        'steps[0].wait',
        'steps[1].else[0].webhook.url',
        'steps[1].else[0].webhook.secret',
        'steps[2].email.subject',
        'steps[3]',
        'exit',
        'holdoutPercent',
        'cap.runs',
        'cap.days',
      ].sort(),
    );
  });

  it('refuses a missing trigger or steps, unknown attributes and bad property paths', () => {
    expect(paths({})).toEqual(['trigger', 'steps']);
    expect(paths({ trigger: { attribute: 'abc', reaches: 1 }, steps: [{ wait: '1h' }] })).toEqual(['trigger.attribute']);
    expect(paths({ trigger: { event: 'x', where: { 'a..b': 1, c: { op: 'in', value: [] } } }, steps: [{ wait: '1h' }] })).toEqual([
      'trigger.where.a..b',
      'trigger.where.c.value',
    ]);
    expect(paths({ trigger: { event: 'x', segmentEntered: 's' }, steps: [{ wait: '1h' }] })).toEqual(['trigger']);
  });

  it('bounds the work a definition can ask for: steps through every branch, and depth', () => {
    const many = Array.from({ length: MAX_STEPS }, () => ({ wait: '1s' }));
    expect(paths({ trigger: { identified: true }, steps: many })).toEqual([]);
    expect(paths({ trigger: { identified: true }, steps: [...many, { if: { field: 'identified', op: 'eq', value: true }, then: [{ wait: '1s' }] }] })).toEqual(['steps']);
    let deep: Record<string, unknown> = { wait: '1s' };
    for (let i = 0; i < 12; i++) deep = { if: { field: 'identified', op: 'eq', value: true }, then: [deep] };
    expect(paths({ trigger: { identified: true }, steps: [deep] }).some((p) => p.endsWith('.then'))).toBe(true);
  });

  it('reads durations from a second to a year', () => {
    expect(durationMs('1s')).toBe(1_000);
    expect(durationMs('90m')).toBe(5_400_000);
    expect(durationMs('7d')).toBe(604_800_000);
    expect(durationMs('1.5h')).toBeNull();
    expect(paths({ trigger: { identified: true }, steps: [{ wait: '0s' }] })).toEqual(['steps[0].wait']);
    expect(paths({ trigger: { identified: true }, steps: [{ wait: '366d' }] })).toEqual(['steps[0].wait']);
  });
});
