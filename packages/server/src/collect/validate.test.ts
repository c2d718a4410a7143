import { describe, expect, it } from 'vitest';
import { MAX_AMOUNT, MAX_DEPTH, MAX_ID_LENGTH, MAX_MESSAGE_BYTES } from '@rapport/protocol';
import { DEFAULT_BLOCKED_IDS } from '../identity/blocked.js';
import { messageIdOf } from './normalize.js';
import { prepareSharedContext, validateMessage, type SharedContext } from './validate.js';

const track = (extra: Record<string, unknown> = {}) => ({ type: 'track', event: 'Signed Up', anonymousId: 'a1', ...extra });

function rejected(input: unknown, options = {}) {
  const result = validateMessage(input, 3, options);
  if (result.ok) throw new Error('expected a rejection');
  return result.issue;
}

describe('validateMessage', () => {
  it('accepts each message type of the Segment spec', () => {
    const messages = [
      track({ properties: { plan: 'pro' } }),
      { type: 'page', name: 'Home', anonymousId: 'a1', properties: { path: '/' } },
      { type: 'screen', name: 'Home', userId: 'u1' },
      { type: 'identify', userId: 'u1', traits: { email: 'a@b.c' } },
      { type: 'alias', userId: 'u2', previousId: 'u1' },
      { type: 'group', userId: 'u1', groupId: 'g1', traits: { name: 'Acme' } },
    ];
    for (const m of messages) expect(validateMessage(m, 0).ok, JSON.stringify(m)).toBe(true);
  });

  it('names the index, field and reason of a rejection', () => {
    expect(rejected(track({ event: 42 }))).toEqual({
      index: 3,
      code: 'invalid',
      field: 'event',
      message: 'event must be a string',
    });
  });

  it.each([
    ['not an object', 'hello', undefined],
    ['an array', [track()], undefined],
    ['null', null, undefined],
    ['an unknown type', { type: 'purchase', anonymousId: 'a' }, 'type'],
    ['a missing type', { anonymousId: 'a', event: 'x' }, 'type'],
    ['no id at all', { type: 'track', event: 'x' }, 'anonymousId'],
    ['an empty id', track({ anonymousId: '' }), 'anonymousId'],
    ['an object as id', track({ anonymousId: { $ne: 1 } }), 'anonymousId'],
    ['a huge id', track({ anonymousId: 'x'.repeat(MAX_ID_LENGTH + 1) }), 'anonymousId'],
    ['a NUL byte in an id', track({ anonymousId: 'a\u0000b' }), 'anonymousId'],
    ['a lone surrogate in an id', track({ userId: 'u\ud800' }), 'userId'],
    ['a lone low surrogate in an event name', track({ event: 'x\udc00y' }), 'event'],
    ['a track without event', { type: 'track', anonymousId: 'a' }, 'event'],
    ['properties that are a string', track({ properties: 'x' }), 'properties'],
    ['traits that are an array', { type: 'identify', userId: 'u', traits: [1] }, 'traits'],
    ['an alias without previousId', { type: 'alias', userId: 'u' }, 'previousId'],
    ['a group without groupId', { type: 'group', userId: 'u' }, 'groupId'],
    ['a timestamp that is not ISO-8601', track({ timestamp: 'yesterday' }), 'timestamp'],
    ['a numeric timestamp', track({ timestamp: 1700000000000 }), 'timestamp'],
    ['an impossible date', track({ timestamp: '2024-13-45T99:99:99Z' }), 'timestamp'],
    ['a context that is a string', track({ context: 'x' }), 'context'],
  ])('rejects %s', (_, input, field) => {
    const issue = rejected(input);
    expect(issue.field).toBe(field);
    expect(issue.message.length).toBeGreaterThan(5);
  });

  it('rejects a type that disagrees with the endpoint, and fills it in when missing', () => {
    expect(rejected(track(), { type: 'page' }).field).toBe('type');
    const result = validateMessage({ event: 'x', anonymousId: 'a' }, 0, { type: 'track' });
    expect(result.ok && result.message.type).toBe('track');
  });

  it('accepts SQL-looking ids as plain text', () => {
    const result = validateMessage(track({ anonymousId: "'; DROP TABLE events; --" }), 0);
    expect(result.ok && result.message.anonymousId).toBe("'; DROP TABLE events; --");
  });

  it('turns numeric ids into strings', () => {
    const result = validateMessage({ type: 'identify', userId: 12345 }, 0);
    expect(result.ok && result.message.userId).toBe('12345');
  });

  it('drops prototype-pollution keys anywhere and says so', () => {
    const input = JSON.parse(
      '{"type":"track","event":"x","anonymousId":"a","properties":{"__proto__":{"admin":true},"ok":1,"nested":{"constructor":{"prototype":{"x":1}}}}}',
    );
    const result = validateMessage(input, 0);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.message.properties).toEqual({ ok: 1, nested: {} });
    expect(result.warnings.map((w) => w.field).sort()).toEqual(['properties.__proto__', 'properties.nested.constructor']);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('rejects pathological nesting without overflowing the stack', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const issue = rejected(track({ properties: { deep } }));
    expect(issue.message).toContain(`deeper than ${MAX_DEPTH}`);
  });

  it('rejects a message over 32 KB with code too_large', () => {
    const issue = rejected(track({ properties: { blob: 'x'.repeat(33 * 1024) } }));
    expect(issue.code).toBe('too_large');
  });

  it('keeps unknown fields and free-form strings with NUL bytes and lone surrogates', () => {
    const input = track({ custom: { a: 1 }, properties: { note: 'a\u0000b\ud800' } });
    const result = validateMessage(input, 0);
    expect(result.ok && result.message.raw.custom).toEqual({ a: 1 });
    expect(result.ok && result.message.properties).toEqual({ note: 'a\u0000b\ud800' });
  });

  it('drops context fields of the wrong type instead of the message', () => {
    const result = validateMessage(track({ context: { page: 'oops', userAgent: 5, locale: 'de-DE' } }), 0);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.message.context).toEqual({ locale: 'de-DE' });
    expect(result.warnings.map((w) => w.field).sort()).toEqual(['context.page', 'context.userAgent']);
  });
});

describe('empty ids', () => {
  const accepted = (input: Record<string, unknown>, options = {}) => {
    const result = validateMessage(input, 2, options);
    if (!result.ok) throw new Error(`expected acceptance: ${result.issue.message}`);
    return result;
  };

  it('treats userId "" as absent, with a warning, as RudderStack sends it on anonymous events', () => {
    const result = accepted(track({ userId: '' }));
    expect(result.message.userId).toBeNull();
    expect(result.message.anonymousId).toBe('a1');
    expect(result.message.raw).not.toHaveProperty('userId');
    expect(result.warnings).toEqual([{ index: 2, code: 'empty_user_id', field: 'userId', message: 'userId is empty and was treated as absent' }]);
  });

  it('treats anonymousId "" as absent too', () => {
    const result = accepted({ type: 'identify', anonymousId: '', userId: 'u1' });
    expect(result.message.anonymousId).toBeNull();
    expect(result.warnings.map((w) => [w.code, w.field])).toEqual([['empty_anonymous_id', 'anonymousId']]);
  });

  it('rejects a message left with neither id, with the usual reason', () => {
    const issue = rejected({ type: 'track', event: 'x', anonymousId: '', userId: '' });
    expect(issue).toMatchObject({ field: 'anonymousId', message: 'a message needs an anonymousId or a userId' });
    expect(rejected({ type: 'alias', anonymousId: 'a', userId: '', previousId: 'u0' }).field).toBe('userId');
  });

  it('treats a blocked user or anonymous id as absent, and refuses a blocked previousId', () => {
    const blockedIds = DEFAULT_BLOCKED_IDS;
    const result = accepted({ type: 'identify', anonymousId: 'a1', userId: ' NULL ' }, { blockedIds });
    expect(result.message.userId).toBeNull();
    expect(result.message.raw).not.toHaveProperty('userId');
    expect(result.warnings).toEqual([
      { index: 2, code: 'blocked_id', field: 'userId', message: 'userId " NULL " is a blocked identifier value and was treated as absent' },
    ]);
    expect(accepted({ type: 'track', event: 'x', anonymousId: '[object Object]', userId: 'u1' }, { blockedIds }).message.anonymousId).toBeNull();
    expect(rejected({ type: 'track', event: 'x', anonymousId: 'guest', userId: 'undefined' }, { blockedIds })).toMatchObject({ field: 'anonymousId' });
    expect(rejected({ type: 'alias', userId: 'u1', previousId: 'anonymous' }, { blockedIds })).toMatchObject({ code: 'blocked_id', field: 'previousId' });
    // A site's own list replaces the defaults; whitespace-only is blocked whatever the list.
    expect(accepted({ type: 'identify', anonymousId: 'a1', userId: 'guest' }, { blockedIds: ['tbd'] }).message.userId).toBe('guest');
    expect(accepted({ type: 'identify', anonymousId: 'a1', userId: 'TBD' }, { blockedIds: ['tbd'] }).message.userId).toBeNull();
    expect(accepted({ type: 'identify', anonymousId: 'a1', userId: '   ' }).message.userId).toBeNull();
  });

  it('still rejects an empty previousId, groupId or messageId', () => {
    expect(rejected({ type: 'alias', userId: 'u2', previousId: '' }).field).toBe('previousId');
    expect(rejected({ type: 'group', userId: 'u2', groupId: '' }).field).toBe('groupId');
    expect(rejected(track({ messageId: '' })).field).toBe('messageId');
  });
});

describe('amounts', () => {
  it.each([
    ['revenue', 1e307],
    ['revenue', -1e13],
    ['total', MAX_AMOUNT * 1.5],
    ['total', '1e400'],
    ['revenue', 'Infinity'],
  ])('rejects properties.%s = %s, naming the field', (field, value) => {
    const issue = rejected(track({ event: 'Order Completed', properties: { [field]: value } }));
    expect(issue.field).toBe(`properties.${field}`);
    expect(issue.message).toContain(`properties.${field}`);
  });

  it('rejects an amount that JSON.parse made Infinity', () => {
    const input = JSON.parse('{"type":"track","event":"Order Completed","anonymousId":"a","properties":{"revenue":1e400}}');
    expect(rejected(input).field).toBe('properties.revenue');
  });

  it('accepts amounts a currency can have, and leaves text that is no number to the reader', () => {
    for (const value of [MAX_AMOUNT, -MAX_AMOUNT, 0, 19.99, '42.50', 'n/a', '']) {
      expect(validateMessage(track({ properties: { revenue: value, total: value } }), 0).ok, String(value)).toBe(true);
    }
    expect(validateMessage(track({ properties: { price: 1e300 } }), 0).ok).toBe(true);
  });
});

describe('shared context of a batch', () => {
  const shared = (context: unknown): SharedContext => {
    const prepared = prepareSharedContext(context);
    if ('error' in prepared || !prepared.shared) throw new Error('expected a shared context');
    return prepared.shared;
  };

  it('reports the exact stored size of every merged message, without measuring the merge', () => {
    const context = shared({ locale: 'fr-FR', library: { name: 'analytics-node', version: '6' }, page: { url: 'https://a.example/é' } });
    const cases = [
      track({ messageId: 'm1' }),
      track({ messageId: 'm2', context: { ip: '1.2.3.4' } }),
      track({ messageId: 'm3', context: { locale: 'de-DE' } }),
      track({ messageId: 'm4', context: { locale: 'de-DE', library: { name: 'x' }, page: { url: 'https://b.example/' } } }),
      track({ context: { timezone: 'Europe/Paris' } }),
      { type: 'identify', userId: 12345, traits: { name: 'Zoë' } },
    ];
    for (const input of cases) {
      const result = validateMessage(input, 0, { shared: context });
      if (!result.ok) throw new Error(result.issue.message);
      result.message.raw.messageId = messageIdOf(result.message, 0);
      expect(result.bytes, JSON.stringify(input)).toBe(Buffer.byteLength(JSON.stringify(result.message.raw)));
    }
  });

  it("merges the shared context under the message's own", () => {
    const result = validateMessage(track({ context: { locale: 'de-DE' } }), 0, { shared: shared({ locale: 'fr-FR', timezone: 'UTC' }) });
    expect(result.ok && result.message.context).toEqual({ locale: 'de-DE', timezone: 'UTC' });
  });

  it('rejects a message that the shared context takes past 32 KB, naming context', () => {
    const context = shared({ blob: 'x'.repeat(MAX_MESSAGE_BYTES - 100) });
    expect(validateMessage(track(), 0, { shared: context }).ok).toBe(true);
    const issue = rejected(track({ properties: { note: 'y'.repeat(200) } }), { shared: context });
    expect(issue).toMatchObject({ code: 'too_large', field: 'context' });
  });

  it('rejects a message past what the request may still store', () => {
    const issue = rejected(track({ messageId: 'm1' }), { remainingBytes: 20 });
    expect(issue.code).toBe('too_large');
    expect(issue.message).toMatch(/one request may store/);
  });

  it('cleans and checks the shared context once', () => {
    const prepared = prepareSharedContext(JSON.parse('{"page":"oops","__proto__":{"x":1},"locale":"fr-FR"}'));
    if ('error' in prepared) throw new Error(prepared.error);
    expect(prepared.shared?.context).toEqual({ locale: 'fr-FR' });
    expect(prepared.warnings.map((w) => w.field).sort()).toEqual(['context.__proto__', 'context.page']);
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100; i++) deep = { deep };
    const refused = prepareSharedContext({ deep });
    expect('error' in refused && refused.issue.field?.startsWith('context.deep')).toBe(true);
    const ignored = prepareSharedContext('not an object');
    expect('error' in ignored ? null : ignored.warnings[0].field).toBe('context');
  });
});

describe('what RudderStack browser SDK sends', () => {
  it("takes an identify's traits from context.traits and keeps a numeric session id", () => {
    const result = validateMessage(
      { type: 'identify', anonymousId: 'a', userId: 'u', context: { traits: { email: 'ada@example.com' }, sessionId: 1796220888343, page: { referrer: '$direct', url: 'https://shop.example/' } } },
      0,
    );
    if (!result.ok) throw new Error(result.issue.message);
    expect(result.message.traits).toEqual({ email: 'ada@example.com' });
    expect(result.message.context.sessionId).toBe('1796220888343');
    expect(result.warnings).toEqual([]);
  });
});
