import { describe, expect, it } from 'vitest';
import type { Offer } from '../decisions/types.js';
import { FIELDS, OPERATORS, type FieldKind, type Operator } from '../segments/rule.js';
import { validateRule } from '../segments/validate-rule.js';
import { offerBody, offerValues } from './offers/form.js';
import { previewUrl } from './offers/preview.js';
import { builderSchema, describeRule, OPERATORS_BY_KIND } from './segments/schema.js';
import { ago, money, pct, personName, safeHref, valueText } from './ui/format.js';
import { withQuery } from './ui/here.js';

/** A value of the right type for a field kind and operator, as the builder would send it. */
function sample(kind: FieldKind, op: Operator): unknown {
  if (op === 'exists') return true;
  if (op === 'in') return kind === 'number' ? [1, 2] : ['a', 'b'];
  if (['gt', 'gte', 'lt', 'lte'].includes(op)) return 3;
  if (['contains', 'notContains', 'startsWith', 'endsWith'].includes(op)) return 'text';
  return kind === 'number' ? 3 : kind === 'boolean' ? true : 'text';
}

describe('the rule builder', () => {
  it('offers for each field the operators that the rule language accepts, and no other', () => {
    const fields: Array<[string, FieldKind]> = [...Object.entries(FIELDS), ['traits.plan', 'any']] as Array<[string, FieldKind]>;
    for (const [field, kind] of fields) {
      for (const op of OPERATORS) {
        const result = validateRule({ field, op, value: sample(kind, op) });
        // "is one of" true or false is accepted by the language but says nothing "is" does not.
        const pointless = kind === 'boolean' && op === 'in';
        expect(result.ok, `${field} ${op}`).toBe(OPERATORS_BY_KIND[kind].includes(op) || pointless);
      }
    }
  });

  it('names every field of the language, with a label a marketer reads', () => {
    const schema = builderSchema();
    expect(schema.fields.map((f) => f.key)).toEqual(Object.keys(FIELDS));
    for (const f of schema.fields) expect(f.label).not.toMatch(/^(computed|referrer|page|device)\./);
    expect(schema.maxWithinDays).toBe(399);
  });

  it('describes rules in words', () => {
    expect(describeRule({ all: [{ field: 'computed.orders', op: 'gte', value: 1 }, { field: 'referrer.first.term', op: 'contains', value: 'thai' }] })).toBe(
      'Orders is at least 1 and First visit: search keyword contains “thai”',
    );
    expect(describeRule({ any: [{ field: 'traits.city', op: 'in', value: ['Lyon', 'Munich'] }, { not: { all: [{ field: 'identified', op: 'eq', value: true }, { field: 'computed.abc', op: 'exists' }] } }] })).toBe(
      'Trait city is one of "Lyon", "Munich" or not (Logged in (has a user id) is true and ABC class is set)',
    );
    expect(describeRule({ event: 'Order Completed', op: 'gte', value: 2, withinDays: 30 })).toBe('“Order Completed” is at least 2 times in 30 days');
  });
});

describe('the offer form', () => {
  const offer: Offer = {
    id: 'off_1', siteId: 's', name: 'Deal', slot: 'hero', segmentId: 'seg_1', priority: 3, status: 'paused',
    content: { title: 'Hi', link: '/x' }, startsAt: Date.UTC(2030, 0, 2, 3, 4), endsAt: null, cap: { count: 2, days: 7 },
    controlPercent: 12.5, goal: { event: 'Order Completed', withinDays: 5 }, createdAt: 0, updatedAt: 0,
  };

  it('turns an offer into form values and back into the body of the API', () => {
    expect(offerBody(offerValues(offer))).toEqual({
      name: 'Deal', slot: 'hero', segment: 'seg_1', priority: 3, status: 'paused',
      content: { title: 'Hi', text: '', image: '', link: '/x', linkText: '' },
      startsAt: '2030-01-02T03:04Z', endsAt: null, cap: { count: 2, days: 7 }, controlPercent: 12.5,
      goal: { event: 'Order Completed', withinDays: 5 },
    });
  });

  it('passes what is not a number through, for the validator to name', () => {
    const values = { ...offerValues(offer), priority: 'high', capCount: '', capDays: '', goalEvent: '', segment: '' };
    expect(offerBody(values)).toMatchObject({ priority: 'high', cap: null, goal: null, segment: null });
  });
});

describe('formatting', () => {
  it('makes links only of http(s) URLs', () => {
    expect(safeHref('https://shop.example/a?b=1')).toBe('https://shop.example/a?b=1');
    for (const bad of ['javascript:alert(1)', ' JavaScript:alert(1)', 'data:text/html,x', '/relative', '//evil.example', 'vbscript:x', 42, null]) {
      expect(safeHref(bad)).toBeNull();
    }
    expect(previewUrl('/trips')).toBe('/trips');
    expect(previewUrl('//evil.example')).toBeNull();
    expect(previewUrl('javascript:alert(1)')).toBeNull();
    expect(previewUrl('https://cdn.example/x.png')).toBe('https://cdn.example/x.png');
  });

  it('writes numbers, times and names for people', () => {
    expect(money(1234.5)).toBe('1,234.50');
    expect(pct(0.1234)).toBe('12.3%');
    expect(pct(null)).toBe('—');
    const now = Date.UTC(2026, 0, 10);
    expect(ago(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(ago(now - 3 * 86_400_000, now)).toBe('3 days ago');
    expect(ago(now + 2 * 3_600_000, now)).toBe('in 2 hours');
    expect(personName({ userId: 'u1', email: null, traits: { firstName: 'Ann', lastName: 'Lee' } })).toBe('Ann Lee');
    expect(personName({ userId: 'u1', email: 'a@b.c', traits: {} })).toBe('a@b.c');
    expect(personName({ userId: null, email: null, traits: { name: 42 } })).toBe('Anonymous visitor');
    expect(valueText({ a: [1, 2] })).toBe('{"a":[1,2]}');
    expect(withQuery('/console', { site: 's 1', q: '', cursor: null })).toBe('/console?site=s+1');
  });
});
