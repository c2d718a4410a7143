import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FLUSH_INTERVAL_MS } from './policy';
import { WRITE_KEY, cookies, mockFetch, sentOf, settle, spyOnSetItem, start, storedKeys } from './test-helpers';
import type { RapportOptions } from './types';

const navigatorSays = (values: { globalPrivacyControl?: boolean; doNotTrack?: string }) => {
  for (const [key, value] of Object.entries(values))
    Object.defineProperty(navigator, key, { value, configurable: true });
};

describe('optOut', () => {
  it('stops all sending, deletes the queue, and is remembered', async () => {
    const fetch = mockFetch(() => Promise.reject(new TypeError('offline')));
    const rapport = start();
    rapport.track('Before');
    await settle(0);
    expect(localStorage.getItem('rapport_q_' + WRITE_KEY)).not.toBeNull();
    rapport.optOut();
    expect(localStorage.getItem('rapport_q_' + WRITE_KEY)).toBeNull();
    rapport.track('After');
    await settle(10 * FLUSH_INTERVAL_MS);
    const online = mockFetch();
    await settle(10 * FLUSH_INTERVAL_MS);
    expect(sentOf(online)).toEqual([]);
    expect(fetch).toHaveBeenCalledTimes(0);

    // Next page: still out, no page view.
    const next = start();
    next.track('Next Page');
    await settle(10 * FLUSH_INTERVAL_MS);
    expect(sentOf(online)).toEqual([]);
    expect(localStorage.getItem('rapport_out')).toBe('1');
  });

  it('is undone by optIn', async () => {
    const fetch = mockFetch();
    const rapport = start({}, []);
    rapport.optOut();
    rapport.optIn();
    rapport.track('Back');
    await settle(FLUSH_INTERVAL_MS);
    expect(sentOf(fetch).map((m) => m.type)).toEqual(['track']);
    expect(localStorage.getItem('rapport_out')).toBeNull();
  });

  it('keeps slots at their default: no decision is asked for', async () => {
    document.body.innerHTML = `<div data-rapport-slot="hero">default</div>`;
    localStorage.setItem('rapport_out', '1');
    const fetch = mockFetch();
    start();
    await settle(1000);
    expect(fetch).not.toHaveBeenCalled();
    expect(document.querySelector('[data-rapport-slot]')!.textContent).toBe('default');
  });
});

describe('consent mode', () => {
  const consentMode = (options: Partial<RapportOptions> = {}) => start({ requireConsent: true, ...options });

  it('stores nothing and sends nothing before consent', async () => {
    const cookieWrites = vi.spyOn(document, 'cookie', 'set');
    const setItem = spyOnSetItem();
    const fetch = mockFetch();
    document.body.innerHTML = `<div data-rapport-slot="hero">default</div>`;
    const rapport = consentMode();
    rapport.identify('u-1');
    rapport.track('Browsing');
    await settle(10 * FLUSH_INTERVAL_MS);
    expect(fetch).not.toHaveBeenCalled();
    expect(cookieWrites).not.toHaveBeenCalled();
    expect(setItem).not.toHaveBeenCalled();
    expect(storedKeys()).toEqual([]);
    expect(cookies()).toEqual({});
  });

  it('sends what the page recorded once consent is given, then stores and remembers', async () => {
    const fetch = mockFetch();
    const rapport = consentMode();
    rapport.track('Browsing');
    await settle(FLUSH_INTERVAL_MS);
    rapport.consent(true);
    await settle(FLUSH_INTERVAL_MS);
    // The call came before the automatic page view, which waits for the current script.
    expect(sentOf(fetch).map((m) => m.type)).toEqual(['track', 'page']);
    expect(cookies().rapport_id).toBe(rapport.anonymousId());
    expect(localStorage.getItem('rapport_consent')).toBe('1');

    // The next page knows consent was given.
    const next = consentMode();
    expect(next.anonymousId()).toBe(rapport.anonymousId());
    next.track('Next');
    await settle(FLUSH_INTERVAL_MS);
    expect(sentOf(fetch).map((m) => m.type)).toEqual(['track', 'page', 'track', 'page']);
  });

  it('consent(false) deletes everything stored and stops sending', async () => {
    localStorage.setItem('site_cart', '2');
    const fetch = mockFetch();
    const rapport = start();
    rapport.identify('u-1');
    await settle(FLUSH_INTERVAL_MS);
    const before = rapport.anonymousId();
    expect(storedKeys().length).toBeGreaterThan(0);

    rapport.consent(false);
    expect(storedKeys()).toEqual([]);
    expect(cookies().rapport_id).toBeUndefined();
    expect(localStorage.getItem('site_cart')).toBe('2');
    expect(rapport.anonymousId()).not.toBe(before);
    expect(rapport.userId()).toBeUndefined();
    const sent = fetch.mock.calls.length;
    rapport.track('After Withdrawal');
    await settle(10 * FLUSH_INTERVAL_MS);
    expect(fetch.mock.calls.length).toBe(sent);
    expect(storedKeys()).toEqual([]);
  });

  it('consent(false) keeps an opt-out: consent given later does not undo it', async () => {
    const fetch = mockFetch();
    const rapport = start();
    rapport.optOut();
    rapport.consent(false);
    expect(storedKeys()).toEqual(['rapport_out']);
    rapport.consent(true);
    rapport.track('After Consent');
    await settle(10 * FLUSH_INTERVAL_MS);
    expect(sentOf(fetch)).toEqual([]);
    expect(localStorage.getItem('rapport_out')).toBe('1');
  });

  it('decides slots only after consent, and only those that appear after it', async () => {
    const fetch = mockFetch();
    document.body.innerHTML = `<div data-rapport-slot="hero">default</div>`;
    const rapport = consentMode();
    await settle(1000);
    expect(fetch).not.toHaveBeenCalled();
    expect(document.querySelector<HTMLElement>('[data-rapport-slot]')!.style.visibility).toBe('');
    rapport.consent(true);
    const later = document.createElement('div');
    later.setAttribute('data-rapport-slot', 'sidebar');
    document.body.appendChild(later);
    await settle(1000);
    const decides = fetch.mock.calls.filter(([url]) => url.endsWith('/v1/decide'));
    expect(decides.map(([, init]) => JSON.parse(init.body as string).slots)).toEqual([['sidebar']]);
  });
});

describe('privacy signals', () => {
  it('Global Privacy Control stops storing and sending, by default', async () => {
    navigatorSays({ globalPrivacyControl: true });
    const fetch = mockFetch();
    const rapport = start();
    rapport.track('A');
    rapport.consent(true);
    await settle(10 * FLUSH_INTERVAL_MS);
    expect(fetch).not.toHaveBeenCalled();
    expect(storedKeys()).toEqual([]);
    expect(cookies()).toEqual({});
  });

  it('Do Not Track does the same', async () => {
    navigatorSays({ doNotTrack: '1' });
    const fetch = mockFetch();
    start().track('A');
    await settle(10 * FLUSH_INTERVAL_MS);
    expect(fetch).not.toHaveBeenCalled();
    expect(storedKeys()).toEqual([]);
  });

  it('are ignored when the site turns them off', async () => {
    navigatorSays({ globalPrivacyControl: true, doNotTrack: '1' });
    const fetch = mockFetch();
    start({ honorPrivacySignals: false }).track('A');
    await settle(FLUSH_INTERVAL_MS);
    expect(sentOf(fetch).length).toBeGreaterThan(0);
  });
});

describe('cookieless mode', () => {
  // The privacy signals of the tests above stay on the navigator: off here.
  beforeEach(() => navigatorSays({ globalPrivacyControl: false, doNotTrack: '0' }));

  it('writes no cookie and nothing to storage, and lets the server name the visitor', async () => {
    const fetch = mockFetch(() => Promise.reject(new TypeError('offline')));
    const setItem = spyOnSetItem();
    const rapport = start({ cookieless: true });
    rapport.identify('u1', { plan: 'gold' });
    rapport.track('Viewed');
    await settle(2 * FLUSH_INTERVAL_MS);
    expect(cookies()).toEqual({});
    expect(storedKeys()).toEqual([]);
    expect(setItem).not.toHaveBeenCalled();
    // Offline: the retry queue stays in memory, and goes out once the network is back.
    expect(fetch).toHaveBeenCalled();
    const online = mockFetch();
    await settle(600_000);
    const sent = sentOf(online);
    expect(sent.map((m) => m.type).sort()).toEqual(['identify', 'page', 'track']);
    for (const m of sent) {
      expect(m.anonymousId).toBeUndefined();
      expect(m.context!.cookieless).toBe(true);
    }
    expect(sent.find((m) => m.type === 'track')!.userId).toBe('u1');
    expect(storedKeys()).toEqual([]);
  });

  it('reads no id a cookie or storage holds from before', async () => {
    localStorage.setItem('rapport_id', 'old-id');
    localStorage.setItem('rapport_user', 'someone');
    const fetch = mockFetch();
    start({ cookieless: true }).track('Seen');
    await settle(10 * FLUSH_INTERVAL_MS);
    const track = sentOf(fetch).find((m) => m.type === 'track')!;
    expect(track.anonymousId).toBeUndefined();
    expect(track.userId).toBeUndefined();
  });
});
