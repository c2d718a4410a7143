import { MAX_ID_LENGTH, SESSION_TIMEOUT_MS } from '@rapport/protocol';
import type { AliasMessage, IdentifyMessage, PageMessage, TrackMessage } from '@rapport/protocol';
import { describe, expect, it, vi } from 'vitest';
import { uuid } from './context';
import packageJson from '../package.json';
import { mockFetch, sentOf, setReferrer, setUrl, settle, start } from './test-helpers';
import { VERSION } from './version';

// The core alone: no automatic page view, so each test sees exactly the messages it makes.
const core = (options = {}) => start(options, []);

describe('messages', () => {
  it('carry ids, time and the context of the page', async () => {
    setUrl('https://shop.example/tours/thailand?utm_source=google&utm_medium=cpc&gclid=g-1#top');
    setReferrer('https://www.google.com/');
    document.title = 'Thailand tours';
    const fetch = mockFetch();
    const rapport = core();
    rapport.track('Tour Viewed', { tour: 't-1' });
    await settle(1000);
    const [message] = sentOf(fetch) as TrackMessage[];
    expect(message).toMatchObject({
      type: 'track',
      event: 'Tour Viewed',
      properties: { tour: 't-1' },
      anonymousId: rapport.anonymousId(),
      context: {
        page: {
          url: 'https://shop.example/tours/thailand?utm_source=google&utm_medium=cpc&gclid=g-1#top',
          path: '/tours/thailand',
          referrer: 'https://www.google.com/',
          title: 'Thailand tours',
          search: '?utm_source=google&utm_medium=cpc&gclid=g-1',
        },
        campaign: { source: 'google', medium: 'cpc', gclid: 'g-1' },
        userAgent: navigator.userAgent,
        locale: navigator.language,
        library: { name: 'rapport.js', version: VERSION },
      },
    });
    expect(message.messageId).not.toBe(sentOf(fetch)[1]?.messageId);
    expect(new Date(message.timestamp!).getTime()).toBe(Date.now() - 1000);
    expect(message.userId).toBeUndefined();
    expect(message.context!.userHash).toBeUndefined();
  });

  it('get unique message ids, with a fallback where crypto.randomUUID is missing (http pages)', () => {
    const ids = new Set(Array.from({ length: 100 }, uuid));
    expect(ids.size).toBe(100);
    vi.spyOn(crypto, 'randomUUID').mockImplementation(() => {
      throw new TypeError('not a secure context');
    });
    const fallback = Array.from({ length: 100 }, uuid);
    for (const id of fallback)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(fallback).size).toBe(100);
  });

  it('report the same library version as package.json', () => {
    expect(VERSION).toBe(packageJson.version);
  });
});

describe('identify', () => {
  it('persists the user id and its hash, sent as context.userHash with every message', async () => {
    const fetch = mockFetch();
    const rapport = core();
    rapport.track('Before Login');
    rapport.identify('u-42', { email: 'ann@example.com' }, { userHash: 'h-42' });
    rapport.track('After Login');
    await settle(1000);
    const [before, identify, after] = sentOf(fetch);
    expect(before.userId).toBeUndefined();
    expect(before.context!.userHash).toBeUndefined();
    expect(identify).toMatchObject({ type: 'identify', userId: 'u-42', traits: { email: 'ann@example.com' } });
    expect(identify.context!.userHash).toBe('h-42');
    expect(after).toMatchObject({ userId: 'u-42', context: { userHash: 'h-42' } });

    // The next page load remembers both.
    const again = core();
    expect(again.userId()).toBe('u-42');
    again.page();
    await settle(1000);
    expect(sentOf(fetch)[3]).toMatchObject({ userId: 'u-42', context: { userHash: 'h-42' } });
  });

  it('drops the hash of another user and keeps the hash when the same user comes again', async () => {
    const fetch = mockFetch();
    const rapport = core();
    rapport.identify('u-1', {}, { userHash: 'h-1' });
    rapport.identify('u-1', { plan: 'pro' });
    rapport.identify('u-2');
    await settle(1000);
    expect(sentOf(fetch).map((m) => m.context!.userHash)).toEqual(['h-1', 'h-1', undefined]);
  });

  it('takes traits alone for the current user', async () => {
    const fetch = mockFetch();
    const rapport = core();
    rapport.identify({ plan: 'free' });
    rapport.identify('u-1');
    rapport.identify({ plan: 'pro' });
    await settle(1000);
    const sent = sentOf(fetch) as IdentifyMessage[];
    expect(sent.map((m) => [m.userId, m.traits])).toEqual([
      [undefined, { plan: 'free' }],
      ['u-1', {}],
      ['u-1', { plan: 'pro' }],
    ]);
  });
});

describe('user ids', () => {
  it('are strings or numbers the server takes: anything else is refused and the id kept', async () => {
    const onError = vi.fn();
    const fetch = mockFetch();
    const rapport = core({ onError });
    rapport.identify('u-1');
    const bad = [() => {}, Symbol('s'), true, BigInt(7), {}, 'x'.repeat(MAX_ID_LENGTH + 1)];
    for (const id of [...bad, NaN, '']) {
      rapport.identify(id as never);
      rapport.alias(id as never);
    }
    for (const id of bad) rapport.alias('u-2', id as never);
    expect(rapport.userId()).toBe('u-1');
    rapport.identify(42 as never);
    rapport.alias(7 as never);
    await settle(1000);
    expect(sentOf(fetch).map((m) => [m.type, m.userId, (m as AliasMessage).previousId])).toEqual([
      ['identify', 'u-1', undefined],
      // {} is traits for the current user.
      ['identify', 'u-1', undefined],
      ['identify', '42', undefined],
      ['alias', '7', '42'],
    ]);
    // Refused: all 8 ids as alias, 7 of them as identify ({} is traits), the 6 bad ones as previousId.
    expect(onError).toHaveBeenCalledTimes(21);
    expect(onError.mock.calls.every(([error]) => error instanceof TypeError)).toBe(true);
  });
});

describe('alias', () => {
  it('links to the current user id, else the anonymous id, unless told', async () => {
    const fetch = mockFetch();
    const rapport = core();
    rapport.alias('u-new');
    rapport.identify('u-old', {}, { userHash: 'h-old' });
    rapport.alias('u-new');
    rapport.alias('u-new', 'legacy-7');
    await settle(1000);
    const aliases = sentOf(fetch).filter((m): m is AliasMessage => m.type == 'alias');
    expect(aliases.map((m) => [m.userId, m.previousId])).toEqual([
      ['u-new', rapport.anonymousId()],
      ['u-new', 'u-old'],
      ['u-new', 'legacy-7'],
    ]);
    // The hash vouches for u-old, not for the new id the alias names.
    expect(aliases[1].context!.userHash).toBeUndefined();
  });
});

describe('reset', () => {
  it('gives a new anonymous id and forgets user, hash, session and first touch', async () => {
    setReferrer('https://www.google.com/');
    const fetch = mockFetch();
    const rapport = core();
    rapport.identify('u-1', {}, { userHash: 'h-1' });
    const before = rapport.anonymousId();
    rapport.reset();
    expect(rapport.anonymousId()).not.toBe(before);
    expect(rapport.userId()).toBeUndefined();
    setUrl('https://shop.example/bye');
    rapport.track('After Logout');
    await settle(1000);
    const [login, after] = sentOf(fetch);
    expect(after.anonymousId).toBe(rapport.anonymousId());
    expect(after.userId).toBeUndefined();
    expect(after.context!.userHash).toBeUndefined();
    expect(after.context!.sessionId).not.toBe(login.context!.sessionId);
    expect(after.context!.firstTouch!.landingUrl).toBe('https://shop.example/bye');
    expect(localStorage.getItem('rapport_user')).toBeNull();
    expect(localStorage.getItem('rapport_hash')).toBeNull();
    expect(core().anonymousId()).toBe(rapport.anonymousId());
  });
});

describe('session', () => {
  it('lasts while events come less than 30 minutes apart, across page loads', async () => {
    const fetch = mockFetch();
    core().track('A');
    await settle(SESSION_TIMEOUT_MS - 1000);
    core().track('B');
    await settle(SESSION_TIMEOUT_MS + 1000);
    core().track('C');
    await settle(1000);
    const [a, b, c] = sentOf(fetch).map((m) => m.context!.sessionId);
    expect(a).toBeTruthy();
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });
});

describe('referral capture', () => {
  it('keeps the first visit as first touch; each page view has its own referrer and campaign', async () => {
    vi.setSystemTime(new Date('2026-02-01T10:00:00Z'));
    setUrl('https://shop.example/?utm_source=newsletter&utm_campaign=spring');
    setReferrer('https://mail.example/');
    const fetch = mockFetch();
    core().page();
    await settle(1000);

    setUrl('https://shop.example/tours?gclid=xyz');
    setReferrer('https://www.google.com/');
    core().page();
    await settle(1000);

    const [first, second] = sentOf(fetch) as PageMessage[];
    const firstTouch = {
      referrer: 'https://mail.example/',
      landingUrl: 'https://shop.example/?utm_source=newsletter&utm_campaign=spring',
      campaign: { source: 'newsletter', name: 'spring' },
      at: '2026-02-01T10:00:00.000Z',
    };
    expect(first.context).toMatchObject({ firstTouch, campaign: { source: 'newsletter', name: 'spring' } });
    expect(second.context).toMatchObject({ firstTouch, campaign: { gclid: 'xyz' } });
    expect(second.context!.page!.referrer).toBe('https://www.google.com/');
  });

  it('sends no campaign when the URL has none', async () => {
    const fetch = mockFetch();
    core().page();
    await settle(1000);
    expect(sentOf(fetch)[0].context!.campaign).toBeUndefined();
  });
});

describe('page', () => {
  it('carries the previous page: a same-origin referrer first, then the page before', async () => {
    setUrl('https://shop.example/cart');
    setReferrer('https://shop.example/tours');
    const fetch = mockFetch();
    const rapport = core();
    rapport.page('Cart', { items: 2 });
    setUrl('https://shop.example/checkout');
    rapport.page({ step: 1 });
    await settle(1000);
    const [cart, checkout] = sentOf(fetch) as PageMessage[];
    expect(cart).toMatchObject({ name: 'Cart', properties: { items: 2 } });
    expect(cart.context!.page).toMatchObject({ previous: 'https://shop.example/tours', referrer: 'https://shop.example/tours' });
    expect(checkout).toMatchObject({ properties: { step: 1 } });
    expect(checkout).not.toHaveProperty('name');
    expect(checkout.context!.page).toMatchObject({
      url: 'https://shop.example/checkout',
      previous: 'https://shop.example/cart',
      referrer: 'https://shop.example/cart',
    });
  });

  it('has no previous page after an external referrer', async () => {
    setReferrer('https://www.google.com/');
    const fetch = mockFetch();
    core().page();
    await settle(1000);
    expect(sentOf(fetch)[0].context!.page!.previous).toBeUndefined();
  });
});
