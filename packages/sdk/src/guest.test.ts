// Guest manners: whatever the page does to the SDK, or the browser withholds from it, nothing is
// thrown into the page, no promise rejects unhandled (vitest fails the run on one), nothing is logged.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRapport } from './rapport';
import { blockCookies, blockStorage, mockFetch, sentOf, settle, start } from './test-helpers';
import type { Rapport } from './types';

const consoleCalls = () =>
  (['error', 'warn', 'log', 'info', 'debug'] as const).map((level) => vi.spyOn(console, level));
let spies: ReturnType<typeof consoleCalls>;
beforeEach(() => {
  spies = consoleCalls();
});
afterEach(() => {
  for (const spy of spies) expect(spy).not.toHaveBeenCalled();
});

/** Calls every method of the API with arguments no one should pass. */
const abuse = (rapport: Rapport) => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const garbage: unknown[] = [undefined, null, 0, NaN, '', [], () => {}, Symbol('s'), BigInt(10), circular, { toString: null }];
  const api = rapport as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const method of ['page', 'track', 'identify', 'alias', 'consent', 'ready', 'flush']) {
    for (const a of garbage) {
      api[method](a);
      api[method](a, a);
      api[method]('ok', a, a);
    }
  }
  rapport.track('Circular', circular);
  rapport.track('BigInt', { n: BigInt(10) } as never);
  rapport.ready(() => {
    throw new Error('the page’s own callback');
  });
  rapport.reset();
  rapport.optOut();
  rapport.optIn();
  rapport.consent(true);
};

describe('never throws into the page', () => {
  it('survives garbage arguments to every method, reporting to onError', async () => {
    const onError = vi.fn();
    const rapport = start({ onError });
    expect(() => abuse(rapport)).not.toThrow();
    await settle(5000);
    expect(onError).toHaveBeenCalled();
    expect(onError.mock.calls.some(([e]) => e instanceof TypeError)).toBe(true);
  });

  it('survives garbage without onError, silently', async () => {
    expect(() => abuse(start())).not.toThrow();
    await settle(5000);
  });

  it('survives an onError that throws', async () => {
    const rapport = start({
      onError: () => {
        throw new Error('broken handler');
      },
    });
    expect(() => rapport.track(undefined as never)).not.toThrow();
    await settle(1000);
  });

  it('survives fetch throwing synchronously, missing, or rejecting', async () => {
    const onError = vi.fn();
    vi.stubGlobal('fetch', () => {
      throw new Error('fetch blew up');
    });
    const rapport = start({ onError });
    rapport.track('A');
    await expect(rapport.flush()).resolves.toBeUndefined();
    await settle(5000);
    vi.stubGlobal('fetch', undefined);
    await settle(60_000);
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('Failed to fetch')));
    await settle(60_000);
    expect(onError).toHaveBeenCalled();

    // And delivers once the network is back.
    const fetch = mockFetch();
    await settle(60_000);
    expect(sentOf(fetch).map((m) => m.type)).toContain('track');
  });

  it('survives blocked storage, blocked cookies and a missing sendBeacon on page hide', async () => {
    blockStorage();
    blockCookies();
    Object.defineProperty(navigator, 'sendBeacon', { value: undefined, configurable: true });
    const rapport = start();
    expect(() => abuse(rapport)).not.toThrow();
    expect(() => window.dispatchEvent(new Event('pagehide'))).not.toThrow();
    await settle(5000);
  });

  it('survives answers that are not JSON and decisions that are nonsense', async () => {
    document.body.innerHTML = `<div data-rapport-slot="a">A</div><div data-rapport-slot="b">B</div><div data-rapport-slot="c">C</div>`;
    mockFetch(async (url) =>
      url.endsWith('/decide')
        ? new Response(JSON.stringify({ slots: { a: 'x', b: { variant: 'offer', content: 7 }, c: { content: { title: {} } } } }))
        : new Response('<html>proxy error</html>', { status: 200 }),
    );
    const rapport = start();
    rapport.track('A');
    await settle(5000);
    expect(document.querySelector('[data-rapport-slot="a"]')!.textContent).toBe('A');
    expect(document.querySelector('[data-rapport-slot="b"]')!.textContent).toBe('B');
  });

  it('survives a call without options', async () => {
    expect(() => createRapport(undefined as never)).not.toThrow();
    await settle(1000);
  });
});
