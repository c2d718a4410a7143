import { describe, expect, it } from 'vitest';
import { ingestEvent } from '../test-support/events.js';
import { applyEvent, mergeProfiles } from './computed.js';
import { CONSENT_UPDATED, recordConsent, suppressionOf } from './consent.js';
import { emptyComputed, type ProfileRecord } from './types.js';

const profile = (id: string): ProfileRecord => ({
  id,
  siteId: 's1',
  userId: null,
  email: null,
  traits: {},
  traitTimes: {},
  computed: emptyComputed(),
  mergedInto: null,
  createdAt: 0,
  updatedAt: 0,
});
let at = Date.UTC(2026, 10, 1);
const identify = (p: ProfileRecord, traits: Record<string, unknown>, trust: 'trusted' | 'verified' | 'untrusted') =>
  applyEvent(p, ingestEvent({ type: 'identify', name: null, anonymousId: 'a1', traits, trust, timestamp: (at += 1000) }), () => 'x');

describe('suppression traits', () => {
  it('names why nothing may be sent', () => {
    expect(suppressionOf({})).toBeNull();
    expect(suppressionOf({ unsubscribed: true })).toBe('unsubscribed');
    expect(suppressionOf({ optedOut: true })).toBe('opted out');
    expect(suppressionOf({ consent: false })).toBe('consent withdrawn');
    expect(suppressionOf({ consent: { marketing: false, analytics: true } })).toBe('consent withdrawn');
    expect(suppressionOf({ consent: true, unsubscribed: 'yes' })).toBeNull();
  });

  it('lets a browser message say it but never take it back; a trusted one may', () => {
    const p = profile('p1');
    identify(p, { unsubscribed: true, consent: { marketing: false } }, 'untrusted');
    identify(p, { unsubscribed: false, consent: { marketing: true }, plan: 'pro' }, 'untrusted');
    expect(p.traits).toMatchObject({ unsubscribed: true, consent: { marketing: false }, plan: 'pro' });
    identify(p, { unsubscribed: false }, 'verified');
    expect(p.traits.unsubscribed).toBe(false);
    identify(p, { optedOut: true }, 'untrusted');
    identify(p, { optedOut: null }, 'untrusted');
    expect(suppressionOf(p.traits)).toBe('opted out');
    identify(p, { optedOut: null, consent: true }, 'trusted');
    expect(suppressionOf(p.traits)).toBeNull();
  });

  it('survives a merge with a newer profile that says otherwise', () => {
    const old = profile('old');
    identify(old, { unsubscribed: true }, 'trusted');
    const newer = profile('new');
    identify(newer, { unsubscribed: false }, 'trusted');
    mergeProfiles(newer, old);
    expect(newer.traits.unsubscribed).toBe(true);
  });
});

describe('consent events', () => {
  const consented = (p: ProfileRecord, properties: Record<string, unknown>, trust: 'trusted' | 'untrusted', timestamp: number) =>
    applyEvent(p, ingestEvent({ name: CONSENT_UPDATED, properties, trust, timestamp }), () => 'x');

  it('record each purpose with its time and sender, the newest winning, malformed ones left out', () => {
    const p = profile('p1');
    consented(p, { purposes: { marketing: true, analytics: true, 'bad purpose!': true, ads: 'yes' } }, 'untrusted', 2000);
    consented(p, { purpose: 'marketing', granted: false }, 'trusted', 3000);
    consented(p, { purpose: 'analytics', granted: false }, 'untrusted', 1000);
    expect(p.computed.consent).toEqual({
      marketing: { granted: false, at: 3000, trust: 'trusted' },
      analytics: { granted: true, at: 2000, trust: 'untrusted' },
    });
    expect(suppressionOf(p.traits, p.computed.consent)).toBe('consent withdrawn');
    const c = { ...p.computed };
    for (let i = 0; i < 30; i++) recordConsent(c, { purpose: `p${i}`, granted: true }, 5000, 'trusted');
    expect(Object.keys(c.consent!)).toHaveLength(20);
  });

  it('merge to the latest record of each purpose', () => {
    const a = profile('a');
    const b = profile('b');
    consented(a, { purposes: { marketing: false } }, 'trusted', 1000);
    consented(b, { purposes: { marketing: true, analytics: false } }, 'trusted', 2000);
    mergeProfiles(a, b);
    expect(a.computed.consent).toMatchObject({ marketing: { granted: true, at: 2000 }, analytics: { granted: false } });
  });
});
