import { describe, expect, it, vi } from 'vitest';
import { createStore } from './storage';
import {
  blockCookies,
  blockStorage,
  cookies,
  mockFetch,
  sentOf,
  setUrl,
  settle,
  spyOnSetItem,
  start,
  storedKeys,
} from './test-helpers';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** What the SDK wrote into document.cookie, attributes included (the jar drops them). */
const cookieWrites = () => {
  const set = vi.spyOn(document, 'cookie', 'set');
  return () => set.mock.calls.map(([value]) => value).filter((value) => value.startsWith('rapport_id='));
};

describe('anonymous id cookie', () => {
  it('is written for a year, SameSite=Lax, Secure on https, on path /', () => {
    vi.setSystemTime(new Date('2025-03-01T12:00:00Z'));
    const writes = cookieWrites();
    const rapport = start();
    const [cookie] = writes();
    expect(cookie).toMatch(new RegExp(`^rapport_id=${rapport.anonymousId()};`));
    expect(rapport.anonymousId()).toMatch(UUID);
    expect(cookie).toMatch(/; path=\/(;|$)/);
    expect(cookie).toMatch(/; sameSite=Lax(;|$)/i);
    expect(cookie).toMatch(/; secure(;|$)/i);
    expect(cookie).toContain('; expires=Sun, 01 Mar 2026 12:00:00 GMT');
    expect(cookie).not.toMatch(/domain=/i);
    expect(cookies().rapport_id).toBe(rapport.anonymousId());
  });

  it('is not Secure on http pages', () => {
    setUrl('http://shop.example/');
    const writes = cookieWrites();
    start();
    expect(writes()[0]).not.toMatch(/secure/i);
  });

  it('takes the cookieDomain option to share the id across subdomains', () => {
    setUrl('https://www.shop.example/');
    const writes = cookieWrites();
    start({ cookieDomain: '.shop.example' });
    expect(writes()[0]).toMatch(/; domain=\.shop\.example(;|$)/);
  });

  it('is renewed on every page load', () => {
    vi.setSystemTime(new Date('2025-03-01T12:00:00Z'));
    const id = start().anonymousId();
    vi.setSystemTime(new Date('2025-06-01T12:00:00Z'));
    const writes = cookieWrites();
    expect(start().anonymousId()).toBe(id);
    expect(writes()[0]).toContain('; expires=Mon, 01 Jun 2026 12:00:00 GMT');
  });

  it('is restored from its localStorage copy when the cookie was lost', () => {
    const id = start().anonymousId();
    expect(localStorage.getItem('rapport_id')).toBe(id);
    document.cookie = 'rapport_id=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/';
    expect(cookies().rapport_id).toBeUndefined();
    expect(start().anonymousId()).toBe(id);
    expect(cookies().rapport_id).toBe(id);
  });

  it('is read from the cookie when localStorage is blocked', () => {
    document.cookie = 'rapport_id=a-cookie; path=/';
    blockStorage();
    expect(start().anonymousId()).toBe('a-cookie');
  });

  it('restores a lost localStorage copy from the cookie', () => {
    const id = start().anonymousId();
    localStorage.clear();
    expect(start().anonymousId()).toBe(id);
    expect(localStorage.getItem('rapport_id')).toBe(id);
  });
});

describe('blocked storage', () => {
  it('works with localStorage throwing and cookies dropped: ids live for the page', async () => {
    blockStorage();
    blockCookies();
    const fetch = mockFetch();
    const onError = vi.fn();
    const rapport = start({ onError });
    rapport.identify('u-1');
    rapport.track('Clicked');
    await settle(1000);
    const sent = sentOf(fetch);
    expect(sent.map((m) => m.type)).toEqual(['identify', 'track', 'page']);
    expect(new Set(sent.map((m) => m.anonymousId))).toEqual(new Set([rapport.anonymousId()]));
    expect(rapport.userId()).toBe('u-1');
    expect(onError).not.toHaveBeenCalled();
  });

  it('keeps working when localStorage is full', async () => {
    const setItem = spyOnSetItem({ full: true });
    const fetch = mockFetch();
    start().track('A');
    await settle(1000);
    expect(sentOf(fetch).map((m) => m.type)).toEqual(['track', 'page']);
    expect(setItem).toHaveBeenCalled();
  });
});

describe('createStore', () => {
  it('keeps writes in memory until persisting, then writes them out', () => {
    const store = createStore();
    store.set('user', 'u-1');
    store.set('id', 'a-1');
    expect(store.get('user')).toBe('u-1');
    expect(storedKeys()).toEqual([]);
    expect(document.cookie).toBe('');
    store.persist(true);
    expect(localStorage.getItem('rapport_user')).toBe('u-1');
    expect(cookies().rapport_id).toBe('a-1');
    store.set('user', undefined);
    expect(localStorage.getItem('rapport_user')).toBeNull();
  });

  it('clears only its own keys', () => {
    localStorage.setItem('site_cart', '3');
    const store = createStore();
    store.persist(true);
    store.set('id', 'a-1');
    store.set('first', '{}');
    store.clear();
    expect(storedKeys()).toEqual([]);
    expect(cookies().rapport_id).toBeUndefined();
    expect(localStorage.getItem('site_cart')).toBe('3');
    expect(store.get('first')).toBeUndefined();
  });

  it('writes the opt-out flag through even while in memory only', () => {
    const store = createStore();
    store.set('out', '1', true);
    expect(localStorage.getItem('rapport_out')).toBe('1');
  });
});
