import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { userHashOf } from '../identity/verify.js';
import { DEFAULT_SITE_SETTINGS, type Site } from '../store/types.js';
import { MAX_TOKEN_LENGTH, signatureOf, signSelfServiceLink, verifySelfServiceToken } from './link.js';

const site = (id: string, secret: string): Site => ({
  id,
  name: id,
  writeKey: `wk_${id}`,
  secret,
  origins: [],
  settings: { ...DEFAULT_SITE_SETTINGS },
  createdAt: 0,
});
const shop = site('site_shop', 'sk_shop_secret');
const other = site('site_other', 'sk_other_secret');
const directory = (...sites: Site[]) => ({ get: (id: string) => sites.find((s) => s.id === id) });
const sites = directory(shop, other);
const NOW = Date.UTC(2026, 4, 1, 12);
const inAWeek = new Date(NOW + 7 * 86_400_000);

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A token as a shop's backend in any language makes it, following docs/self-service.md byte for byte. */
const byHand = (secret: string, claims: unknown) => {
  const payload = b64(claims);
  const signature = createHmac('sha256', secret).update(`rapport-self-service-v1\n${payload}`).digest('base64url');
  return `${payload}.${signature}`;
};

describe('self-service links', () => {
  it('verifies what it signed, with the site, the user id and the expiry to the second', () => {
    const token = signSelfServiceLink({ site: shop, userId: 'user-42', expiresAt: new Date(inAWeek.getTime() + 999) });
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).toEqual({ s: 'site_shop', u: 'user-42', e: inAWeek.getTime() / 1000 });
    expect(verifySelfServiceToken(token, sites, NOW)).toEqual({ ok: true, site: shop, userId: 'user-42', expiresAt: inAWeek });
  });

  it('accepts a token made by hand as the docs describe it, and keeps user ids that are not ASCII', () => {
    const token = byHand(shop.secret, { s: shop.id, u: 'zoë@example.com', e: inAWeek.getTime() / 1000 });
    expect(token).toBe(signSelfServiceLink({ site: shop, userId: 'zoë@example.com', expiresAt: inAWeek }));
    expect(verifySelfServiceToken(token, sites, NOW)).toMatchObject({ ok: true, userId: 'zoë@example.com' });
  });

  it('refuses an expired token, from its last second on', () => {
    const token = signSelfServiceLink({ site: shop, userId: 'u', expiresAt: inAWeek });
    expect(verifySelfServiceToken(token, sites, inAWeek.getTime() - 1).ok).toBe(true);
    expect(verifySelfServiceToken(token, sites, inAWeek.getTime())).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a changed payload: another user, a later expiry, another site', () => {
    const token = signSelfServiceLink({ site: shop, userId: 'alice', expiresAt: inAWeek });
    const signature = token.split('.')[1];
    for (const claims of [
      { s: shop.id, u: 'bob', e: inAWeek.getTime() / 1000 },
      { s: shop.id, u: 'alice', e: inAWeek.getTime() / 1000 + 86_400 },
      { s: other.id, u: 'alice', e: inAWeek.getTime() / 1000 },
    ]) {
      expect(verifySelfServiceToken(`${b64(claims)}.${signature}`, sites, NOW)).toEqual({ ok: false, reason: 'bad signature' });
    }
  });

  it('refuses a changed signature, whatever the character changed', () => {
    const token = signSelfServiceLink({ site: shop, userId: 'alice', expiresAt: inAWeek });
    const [payload, signature] = token.split('.');
    for (const i of [0, 20, 42]) {
      const changed = signature.slice(0, i) + (signature[i] === 'A' ? 'B' : 'A') + signature.slice(i + 1);
      expect(verifySelfServiceToken(`${payload}.${changed}`, sites, NOW)).toEqual({ ok: false, reason: 'bad signature' });
    }
    expect(verifySelfServiceToken(`${payload}.${signature.slice(0, 42)}`, sites, NOW)).toEqual({ ok: false, reason: 'bad signature' });
  });

  it("refuses a token signed with another site's secret, and an expired forgery is not called expired", () => {
    const forged = byHand(other.secret, { s: shop.id, u: 'alice', e: inAWeek.getTime() / 1000 });
    expect(verifySelfServiceToken(forged, sites, NOW)).toEqual({ ok: false, reason: 'bad signature' });
    const stale = byHand(other.secret, { s: shop.id, u: 'alice', e: NOW / 1000 - 60 });
    expect(verifySelfServiceToken(stale, sites, NOW)).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('stops accepting every token once the site secret is rotated', () => {
    const token = signSelfServiceLink({ site: shop, userId: 'alice', expiresAt: inAWeek });
    const rotated = { ...shop, secret: 'sk_new_secret' };
    expect(verifySelfServiceToken(token, directory(rotated), NOW)).toEqual({ ok: false, reason: 'bad signature' });
    expect(verifySelfServiceToken(signSelfServiceLink({ site: rotated, userId: 'alice', expiresAt: inAWeek }), directory(rotated), NOW).ok).toBe(true);
  });

  it('never takes a userHash of the same secret for a signature', () => {
    // A customer whose user id reads as a payload gets its userHash from the site: that must not open another's page.
    const payload = b64({ s: shop.id, u: 'victim', e: inAWeek.getTime() / 1000 });
    const hash = Buffer.from(userHashOf(shop.secret, payload), 'hex').toString('base64url');
    expect(verifySelfServiceToken(`${payload}.${hash}`, sites, NOW)).toEqual({ ok: false, reason: 'bad signature' });
    expect(signatureOf(shop.secret, payload)).not.toBe(hash);
  });

  it('names an unknown site', () => {
    const token = byHand('whatever', { s: 'site_gone', u: 'alice', e: inAWeek.getTime() / 1000 });
    expect(verifySelfServiceToken(token, sites, NOW)).toEqual({ ok: false, reason: 'unknown site' });
  });

  it.each([
    ['empty', ''],
    ['no dot', 'abc'],
    ['two dots', 'a.b.c'],
    ['padding', `${b64({ s: 'site_shop', u: 'a', e: 9e9 })}=.${'A'.repeat(43)}`],
    ['not base64url', 'ab+c.def/'],
    ['not JSON', `${Buffer.from('nope').toString('base64url')}.${'A'.repeat(43)}`],
    ['a JSON list', `${b64(['site_shop', 'a', 9e9])}.${'A'.repeat(43)}`],
    ['no user', `${b64({ s: 'site_shop', e: 9e9 })}.${'A'.repeat(43)}`],
    ['an empty user', `${b64({ s: 'site_shop', u: '', e: 9e9 })}.${'A'.repeat(43)}`],
    ['a user with a newline', `${b64({ s: 'site_shop', u: 'a\nb', e: 9e9 })}.${'A'.repeat(43)}`],
    ['an expiry in milliseconds as text', `${b64({ s: 'site_shop', u: 'a', e: '9e9' })}.${'A'.repeat(43)}`],
    ['a fractional expiry', `${b64({ s: 'site_shop', u: 'a', e: 1.5 })}.${'A'.repeat(43)}`],
  ])('calls a token malformed: %s', (_what, token) => {
    expect(verifySelfServiceToken(token, sites, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a token past 2 KB before it looks at it, even a validly signed one', () => {
    const long = byHand(shop.secret, { s: shop.id, u: 'alice', e: inAWeek.getTime() / 1000, pad: 'x'.repeat(MAX_TOKEN_LENGTH) });
    expect(long.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
    let looked = false;
    const watching = { get: (id: string) => ((looked = true), sites.get(id)) };
    expect(verifySelfServiceToken(long, watching, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(looked).toBe(false);
  });

  it('refuses to sign what it would refuse to verify', () => {
    expect(() => signSelfServiceLink({ site: shop, userId: '', expiresAt: inAWeek })).toThrow(/userId/);
    expect(() => signSelfServiceLink({ site: shop, userId: 'a\u0000b', expiresAt: inAWeek })).toThrow(/userId/);
    expect(() => signSelfServiceLink({ site: shop, userId: 'u', expiresAt: new Date(NaN) })).toThrow(/expiresAt/);
  });
});
