// Shared by the SDK's tests (happy-dom): a fresh "browser" per test, a recording fetch, and ways
// to break the browser (blocked storage, blocked cookies) the way real visitors' browsers do.
import type { BatchRequest, Message } from '@rapport/protocol';
import { afterEach, beforeEach, vi } from 'vitest';
import { createCore } from './core';
import { createRapport } from './rapport';
import type { Module, Rapport, RapportOptions } from './types';

export const HOST = 'https://rapport.test';
export const WRITE_KEY = 'wk_test';
const cleanups: (() => void)[] = [];

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;
export type FetchMock = ReturnType<typeof vi.fn<(url: string, init: RequestInit) => Promise<Response>>>;

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

/** Replaces fetch; by default every batch succeeds and every decide keeps the defaults. */
export function mockFetch(handler?: Handler): FetchMock {
  const fn = vi.fn(async (url: string, init: RequestInit) =>
    handler
      ? handler(url, init)
      : url.endsWith('/v1/decide')
        ? json({ slots: {} })
        : json({ success: true }),
  );
  vi.stubGlobal('fetch', fn);
  return fn;
}

/** Bodies of the batches sent through a fetch mock. */
export const batchesOf = (fetch: FetchMock): BatchRequest[] =>
  fetch.mock.calls
    .filter(([url]) => url.endsWith('/v1/batch'))
    .map(([, init]) => JSON.parse(init.body as string) as BatchRequest);

/** Every message sent through a fetch mock, in order. */
export const sentOf = (fetch: FetchMock): Message[] => batchesOf(fetch).flatMap((b) => b.batch);

export const setUrl = (url: string) =>
  (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(url);

export const setReferrer = (referrer: string) =>
  Object.defineProperty(document, 'referrer', { value: referrer, configurable: true });

/** Runs due timers and pending promise callbacks (fake timers are on in every test). */
export const settle = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

/** The cookie jar as name → value. */
export const cookies = (): Record<string, string> =>
  Object.fromEntries(
    document.cookie
      .split('; ')
      .filter(Boolean)
      .map((c) => [c.slice(0, c.indexOf('=')), decodeURIComponent(c.slice(c.indexOf('=') + 1))]),
  );

// The environment's own localStorage, also while a test stands another in for it.
const storage = window.localStorage;

/** localStorage keys the SDK wrote. */
export const storedKeys = (): string[] => Object.keys(storage).filter((key) => key.startsWith('rapport_'));

/**
 * Spies on localStorage.setItem; with `full`, every write throws as with a used-up quota. (A spy
 * on Storage.prototype sees nothing after the first test of a file: happy-dom binds the methods
 * to the instance on first use.)
 */
export const spyOnSetItem = ({ full = false } = {}) => {
  const setItem = vi.fn((key: string, value: string) => {
    if (full) throw new DOMException('quota', 'QuotaExceededError');
    storage.setItem(key, value);
  });
  vi.spyOn(window, 'localStorage', 'get').mockReturnValue(Object.create(storage, { setItem: { value: setItem } }));
  return setItem;
};

/** localStorage that throws on every access, as with blocked site data. */
export const blockStorage = () =>
  vi.spyOn(window, 'localStorage', 'get').mockImplementation(() => {
    throw new DOMException('The operation is insecure.', 'SecurityError');
  });

/** document.cookie that keeps nothing, as with blocked cookies. Returns the attempted writes. */
export const blockCookies = () => {
  const writes: string[] = [];
  // One own property shadowing Document.prototype's accessor; two spies on one accessor do not
  // restore cleanly.
  Object.defineProperty(document, 'cookie', {
    configurable: true,
    get: () => '',
    set: (value: string) => writes.push(value),
  });
  cleanups.push(() => delete (document as { cookie?: string }).cookie);
  return writes;
};

/** The SDK with test defaults: every module unless `modules` is given. */
export const start = (options: Partial<RapportOptions> = {}, modules?: Module[]): Rapport => {
  const full = { writeKey: WRITE_KEY, host: HOST, ...options };
  return modules ? createCore(full, modules) : createRapport(full);
};

const history = { pushState: window.history.pushState, replaceState: window.history.replaceState };
const NativeMutationObserver = window.MutationObserver;

// Instances of earlier tests must not hear later tests' events: their listeners on window and
// document, their observers and their History patches are undone after each test.
beforeEach(() => {
  vi.useFakeTimers();
  for (const target of [window, document] as EventTarget[]) {
    const own = Object.getOwnPropertyDescriptor(target, 'addEventListener');
    const add = target.addEventListener.bind(target);
    Object.defineProperty(target, 'addEventListener', {
      configurable: true,
      writable: true,
      value: (...args: Parameters<EventTarget['addEventListener']>) => {
        cleanups.push(() => target.removeEventListener(...args));
        return add(...args);
      },
    });
    cleanups.push(() =>
      own
        ? Object.defineProperty(target, 'addEventListener', own)
        : delete (target as { addEventListener?: unknown }).addEventListener,
    );
  }
  vi.stubGlobal(
    'MutationObserver',
    class extends NativeMutationObserver {
      constructor(callback: MutationCallback) {
        super(callback);
        cleanups.push(() => this.disconnect());
      }
    },
  );
  setUrl('https://shop.example/');
  setReferrer('');
  document.title = 'Shop';
  document.body.innerHTML = '';
  localStorage.clear();
  for (const name of Object.keys(cookies()))
    document.cookie = `${name}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/`;
  mockFetch();
});

afterEach(() => {
  cleanups.splice(0).forEach((cleanup) => cleanup());
  Object.assign(window.history, history);
  vi.clearAllTimers();
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});
