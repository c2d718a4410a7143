import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, MAX_ID_LENGTH } from '@rapport/protocol';
import { validateMessage } from './validate.js';

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
    const issue = rejected(track({ properties: { deep } }), { sizeKnownSmall: true });
    expect(issue.message).toContain(`deeper than ${MAX_DEPTH}`);
    const measured = rejected(track({ properties: { deep } }));
    expect(measured.message).toMatch(/nested/);
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
